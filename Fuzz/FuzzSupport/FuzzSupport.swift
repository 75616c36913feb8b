public import CFuzzDriver
import Foundation

/// The entry point of every fuzz target (scripts/fuzz.sh).
///
/// Built with `-Xswiftc -sanitize=fuzzer`, the binary is a libFuzzer fuzzer and takes
/// libFuzzer's flags. SwiftPM renames a Swift executable's `main` and links `main` to it, so
/// libFuzzer's own `main` is never the one that runs: this one starts libFuzzer's driver. A
/// plain build (`swift build`, `swift test`) has no libFuzzer; the binary then runs each file
/// named on its command line (or each file in a directory named there) through the target
/// once, which replays a crash or a corpus without the fuzzer.
public enum FuzzMain {
    public static func run(_ callback: pgstack_fuzz_callback) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = pgstack_fuzz_run_driver(&argc, &argv, callback)
        if status != -1 { exit(status) }
        exit(replay(Array(CommandLine.arguments.dropFirst()), callback))
    }

    /// Runs every file named in `paths` (directories: every file in them) through `callback`.
    static func replay(_ paths: [String], _ callback: pgstack_fuzz_callback) -> Int32 {
        let inputs = paths.filter { !$0.hasPrefix("-") }
        guard !inputs.isEmpty else {
            let name = CommandLine.arguments.first ?? "fuzz-target"
            FileHandle.standardError.write(Data("""
                usage: \(name) FILE|DIR...   (this build has no libFuzzer: it replays inputs;
                       build with -Xswiftc -sanitize=fuzzer to fuzz, see scripts/fuzz.sh)

                """.utf8))
            return 2
        }
        var count = 0
        for path in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("\(path): no such file\n".utf8))
                return 2
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                let bytes = [UInt8](data)
                _ = bytes.withUnsafeBufferPointer { callback($0.baseAddress, $0.count) }
                count += 1
            }
        }
        FileHandle.standardError.write(Data("replayed \(count) inputs, no failure\n".utf8))
        return 0
    }
}

/// Stops the run, as libFuzzer counts a crash, when `condition` is false. Unlike `assert` it
/// is kept in every build configuration.
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError("fuzz check failed: " + message(), file: file, line: line) }
}

/// The input as a buffer; libFuzzer never passes a null pointer, but an empty input may have one.
public func fuzzBuffer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    guard let data, size > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: data, count: size)
}

/// Reads typed values off the front of a fuzz input; past its end every read gives zeros.
public struct FuzzBytes {
    private var rest: ArraySlice<UInt8>

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        rest = ArraySlice(bytes)
    }

    public var isEmpty: Bool { rest.isEmpty }

    public mutating func byte() -> UInt8 {
        rest.popFirst() ?? 0
    }

    /// A number in `0..<bound` (`bound` > 0).
    public mutating func int(below bound: Int) -> Int {
        Int(byte()) % bound
    }

    public mutating func bool() -> Bool {
        byte() & 1 == 1
    }

    /// Up to `maximum` bytes, the count chosen by the input.
    public mutating func bytes(upTo maximum: Int) -> [UInt8] {
        let count = min(int(below: maximum + 1), rest.count)
        defer { rest = rest.dropFirst(count) }
        return Array(rest.prefix(count))
    }

    /// Up to `maximum` bytes decoded as UTF-8, ill-formed sequences replaced (as the server's
    /// text is).
    public mutating func string(upTo maximum: Int) -> String {
        String(decoding: bytes(upTo: maximum), as: UTF8.self)
    }

    /// Any 64 bits as a `Double`: NaNs with payloads, subnormals, the infinities.
    public mutating func doubleBits() -> Double {
        var bits: UInt64 = 0
        for _ in 0..<8 { bits = bits << 8 | UInt64(byte()) }
        return Double(bitPattern: bits)
    }
}

/// Byte-level search: whether `pattern` occurs in `text` (a `String`'s `contains` compares
/// characters, and a password need not start on a character boundary of the message).
public func bytes(_ text: some Collection<UInt8>, contain pattern: some Collection<UInt8>) -> Bool {
    firstIndex(of: Array(pattern), in: Array(text)) != nil
}

/// `text` with every occurrence of `pattern` replaced by `replacement`, byte by byte.
public func bytes(_ text: [UInt8], replacing pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
    guard !pattern.isEmpty else { return text }
    var result: [UInt8] = []
    var position = 0
    while let found = firstIndex(of: pattern, in: text, from: position) {
        result += text[position..<found]
        result += replacement
        position = found + pattern.count
    }
    result += text[position...]
    return result
}

private func firstIndex(of pattern: [UInt8], in text: [UInt8], from start: Int = 0) -> Int? {
    guard !pattern.isEmpty else { return start }
    guard text.count >= pattern.count, start <= text.count - pattern.count else { return nil }
    for index in start...(text.count - pattern.count) where text[index] == pattern[0] {
        if text[index..<index + pattern.count].elementsEqual(pattern) { return index }
    }
    return nil
}
