// Fuzzes the exposition encoder with families built from the input (any help text, label
// values and sample values): the text must be valid exposition format that reads back as the
// families. With FUZZ_DUMP_DIR set, each input's text is also written there (scripts/fuzz.sh
// checks those files with promtool).
import Exposition
import Foundation
import FuzzSupport

let dumpDirectory = ProcessInfo.processInfo.environment["FUZZ_DUMP_DIR"].flatMap { $0.isEmpty ? nil : $0 }

// MARK: Families from bytes

let nameStart = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_".utf8)
let nameRest = nameStart + Array("0123456789".utf8)

let specialValues: [Double] = [
    .nan, -.nan, .infinity, -.infinity, 0, -0.0, 1, -1, 0.25, 1e-7, 1.5e20, 1e15, -1e15, 999_999_999_999_999,
    -999_999_999_999_999, 1e15 - 0.5, 9_007_199_254_740_994, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
    .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, Double(Int64.max), Double(Int64.min),
    -1.2345678901234567e-300, 0.1 + 0.2,
]

let specialNames = ["pg_up", "m", "a:b", "_", "pgbouncer_pools_client_active_connections", "x1"]

extension FuzzBytes {
    /// A valid name: `[a-zA-Z_:][a-zA-Z0-9_:]*` for metrics, without `:` for labels.
    mutating func name(metric: Bool) -> String {
        let start = metric ? nameStart + [UInt8(ascii: ":")] : nameStart
        let rest = metric ? nameRest + [UInt8(ascii: ":")] : nameRest
        var bytes = [start[int(below: start.count)]]
        for _ in 0..<int(below: 12) { bytes.append(rest[int(below: rest.count)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Any text: often one with the characters that need escaping.
    mutating func text(upTo maximum: Int) -> String {
        switch int(below: 8) {
        case 0: return ["", "\\", "\n", "\"", "\\n", "\\\"", "a\\\nb\"c", "ünïcødé ✓ 🐘", "\r\t\0", "\u{FFFD}", "\u{2028}\u{85}"][
            int(below: 11)]
        default: return string(upTo: maximum)
        }
    }

    mutating func value() -> Double {
        int(below: 3) == 0 ? doubleBits() : specialValues[int(below: specialValues.count)]
    }

    /// A family as a collector makes one: a name (now and then an invalid one, which
    /// `FamilySet` drops), and samples that all carry the same label names.
    mutating func family(previous: [MetricFamily]) -> MetricFamily {
        let name: String
        switch int(below: 8) {
        case 0 where !previous.isEmpty: name = previous[int(below: previous.count)].name  // merged by FamilySet
        case 1: name = specialNames[int(below: specialNames.count)]
        case 2: name = string(upTo: 16)  // usually invalid
        default: name = self.name(metric: true)
        }
        let type = [MetricType.counter, .gauge, .untyped][int(below: 3)]
        let help = text(upTo: 64)
        var labelNames: [String] = []
        if let sample = previous.lazy.filter({ $0.name == name }).compactMap(\.samples.first).first {
            labelNames = sample.labels.map(\.name)  // the same schema as the family it merges with
        } else {
            for _ in 0..<int(below: 5) {
                var label = self.name(metric: false)
                while label == "__name__" || labelNames.contains(label) { label += "_" }
                labelNames.append(label)
            }
        }
        var family = MetricFamily(name: name, help: help, type: type)
        for _ in 0..<int(below: 8) {
            let labels = labelNames.map { Label($0, text(upTo: 24)) }
            family.add(value(), labels)
            if isEmpty { break }
        }
        return family
    }

    /// Anything at all: names and label names from arbitrary bytes (the encoder writes what
    /// it is given, so this only checks that it does not trap and stays UTF-8).
    mutating func wildFamily() -> MetricFamily {
        var family = MetricFamily(name: string(upTo: 12), help: string(upTo: 24), type: .untyped)
        for _ in 0..<int(below: 3) {
            family.add(value(), (0..<int(below: 3)).map { _ in Label(string(upTo: 8), string(upTo: 8)) })
        }
        return family
    }
}

// MARK: Reading the text back

struct ParsedFamily {
    var name: String
    var help: String
    var type: String
    var samples: [(labels: [Label], value: Double)] = []
}

enum ParseError: Error, CustomStringConvertible {
    case invalid(line: Int, String)

    var description: String {
        switch self {
        case .invalid(let line, let problem): "line \(line): \(problem)"
        }
    }
}

/// Reads exposition text as the Prometheus text parser does (version 0.0.4), strictly: the
/// only escapes are `\\` and `\n` (HELP) and also `\"` (label values); each family is one
/// `# HELP`, one `# TYPE`, then its samples; names are valid; a label name appears once per
/// sample and is not `__name__`; values are Go floats or `NaN`, `+Inf`, `-Inf`.
func parseExposition(_ text: [UInt8]) throws(ParseError) -> [ParsedFamily] {
    guard text.isEmpty || text.last == UInt8(ascii: "\n") else { throw .invalid(line: 0, "no final newline") }
    var families: [ParsedFamily] = []
    var lineNumber = 0
    for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
        lineNumber += 1
        func fail(_ problem: String) -> ParseError { .invalid(line: lineNumber, problem) }
        var cursor = Cursor(bytes: Array(line))
        if cursor.skip("# HELP ") {
            let name = cursor.take { $0 != UInt8(ascii: " ") }
            guard MetricFamily.isValidName(name), cursor.skip(" ") else { throw fail("bad HELP name") }
            guard !families.contains(where: { $0.name == name }) else { throw fail("family \(name) written twice") }
            guard let help = cursor.unescape(quotes: false) else { throw fail("bad escape in HELP") }
            families.append(ParsedFamily(name: name, help: help, type: ""))
        } else if cursor.skip("# TYPE ") {
            let name = cursor.take { $0 != UInt8(ascii: " ") }
            guard let last = families.indices.last, families[last].name == name, families[last].type.isEmpty,
                  cursor.skip(" ")
            else { throw fail("TYPE not right after its HELP") }
            let type = cursor.take { _ in true }
            guard ["counter", "gauge", "untyped"].contains(type) else { throw fail("bad type \(type)") }
            families[last].type = type
        } else {
            guard let last = families.indices.last, !families[last].type.isEmpty else { throw fail("sample before HELP and TYPE") }
            let name = cursor.take { $0 != UInt8(ascii: "{") && $0 != UInt8(ascii: " ") }
            guard name == families[last].name else { throw fail("sample of \(name) in family \(families[last].name)") }
            var labels: [Label] = []
            if cursor.skip("{") {
                repeat {
                    let labelName = cursor.take { $0 != UInt8(ascii: "=") }
                    guard isValidLabelName(labelName), labelName != "__name__", !labels.contains(where: { $0.name == labelName })
                    else { throw fail("bad or repeated label name \(labelName.debugDescription)") }
                    guard cursor.skip("=\""), let value = cursor.unescape(quotes: true), cursor.skip("\"")
                    else { throw fail("bad label value") }
                    labels.append(Label(labelName, value))
                } while cursor.skip(",")
                guard cursor.skip("}") else { throw fail("labels not closed") }
            }
            guard cursor.skip(" ") else { throw fail("no space before the value") }
            let valueText = cursor.take { _ in true }
            guard let value = parseValue(valueText) else { throw fail("bad value \(valueText)") }
            families[last].samples.append((labels, value))
        }
    }
    guard families.allSatisfy({ !$0.type.isEmpty }) else { throw .invalid(line: lineNumber, "HELP without TYPE") }
    return families
}

func isValidLabelName(_ name: String) -> Bool {
    !name.utf8.contains(UInt8(ascii: ":")) && MetricFamily.isValidName(name)
}

/// `NaN`, `+Inf`, `-Inf`, or a decimal `-?D+(.D+)?(e[+-]D+)?` (what Go's ParseFloat reads).
func parseValue(_ text: String) -> Double? {
    switch text {
    case "NaN": return .nan
    case "+Inf": return .infinity
    case "-Inf": return -.infinity
    default: break
    }
    var cursor = Cursor(bytes: Array(text.utf8))
    _ = cursor.skip("-")
    let isDigit: (UInt8) -> Bool = { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    guard !cursor.take(while: isDigit).isEmpty else { return nil }
    if cursor.skip("."), cursor.take(while: isDigit).isEmpty { return nil }
    if cursor.skip("e") {
        if !cursor.skip("+") { _ = cursor.skip("-") }
        guard !cursor.take(while: isDigit).isEmpty else { return nil }
    }
    guard cursor.atEnd else { return nil }
    return Double(text)
}

struct Cursor {
    let bytes: [UInt8]
    var position = 0

    var atEnd: Bool { position == bytes.count }

    mutating func skip(_ literal: String) -> Bool {
        let literal = Array(literal.utf8)
        guard bytes.count - position >= literal.count, bytes[position..<position + literal.count].elementsEqual(literal)
        else { return false }
        position += literal.count
        return true
    }

    mutating func take(while accept: (UInt8) -> Bool) -> String {
        let start = position
        while position < bytes.count, accept(bytes[position]) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// An escaped text up to the end of the line, or with `quotes` up to an unescaped `"`.
    mutating func unescape(quotes: Bool) -> String? {
        var result: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            if quotes && byte == UInt8(ascii: "\"") { break }
            position += 1
            guard byte == UInt8(ascii: "\\") else {
                result.append(byte)
                continue
            }
            guard position < bytes.count else { return nil }
            let escaped = bytes[position]
            position += 1
            switch escaped {
            case UInt8(ascii: "\\"): result.append(escaped)
            case UInt8(ascii: "n"): result.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "\"") where quotes: result.append(escaped)
            default: return nil
            }
        }
        return String(validating: result, as: UTF8.self)
    }
}

/// Prometheus' identity of a series: its labels by name, those with an empty value left out.
func identity(_ labels: [Label]) -> [Label] {
    labels.filter { !$0.value.isEmpty }.sorted { $0.name < $1.name }
}

func same(_ a: Double, _ b: Double) -> Bool {
    a.isNaN ? b.isNaN : a == b
}

// MARK: The target

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzBytes(fuzzBuffer(data, size))
    var families: [MetricFamily] = []
    for _ in 0..<(1 + input.int(below: 6)) {
        families.append(input.family(previous: families))
        if input.isEmpty { break }
    }

    // Raw, as the encoder's contract allows: anything goes in, UTF-8 comes out.
    let wild = TextEncoder.encode(families + [input.wildFamily()])
    fuzzCheck(String(validating: wild, as: UTF8.self) != nil, "encoder output is not UTF-8")

    var set = FamilySet()
    set.add(families)
    let output = TextEncoder.encode(set.families)
    if let dumpDirectory {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: one file per distinct text
        for byte in output { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        let path = dumpDirectory + "/" + String(hash, radix: 16) + ".prom"
        fuzzCheck(FileManager.default.createFile(atPath: path, contents: Data(output)), "cannot write \(path)")
    }
    fuzzCheck(String(validating: output, as: UTF8.self) != nil, "encoder output is not UTF-8")

    let parsed: [ParsedFamily]
    do {
        parsed = try parseExposition(output)
    } catch {
        fuzzCheck(false, "not valid exposition text: \(error)\n\(String(decoding: output, as: UTF8.self).debugDescription)")
        return 0
    }
    fuzzCheck(parsed.count == set.families.count, "\(parsed.count) families read back, \(set.families.count) written")
    for (read, written) in zip(parsed, set.families) {
        fuzzCheck(read.name == written.name && read.help == written.help && read.type == written.type.rawValue,
                  "family \(written.name) read back as \(read.name) \(read.type) \(read.help.debugDescription)")
        fuzzCheck(read.samples.count == written.samples.count, "family \(written.name): samples lost")
        var series = Set<[Label]>()
        for (sample, original) in zip(read.samples, written.samples) {
            fuzzCheck(sample.labels == original.labels, "labels \(original.labels) read back as \(sample.labels)")
            fuzzCheck(same(sample.value, original.value), "value \(original.value) read back as \(sample.value)")
            fuzzCheck(series.insert(identity(sample.labels)).inserted, "family \(written.name): series \(sample.labels) twice")
        }
    }
    return 0
}

@main struct FuzzTextEncoderMain {
    static func main() {
        FuzzMain.run { data, size in fuzz(data, size) }
    }
}
