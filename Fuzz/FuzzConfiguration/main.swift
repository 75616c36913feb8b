// Fuzzes the YAML configuration file: parsing must not trap, must throw nothing but a
// ConfigurationError, and the error must not repeat a line of the document that holds a password.
import Exporter
import FuzzSupport

/// Secret files are read by path; a device, a pipe or /proc could block or fill the memory, so
/// inputs that may name one are skipped. (YAML escapes can still spell such a path; the
/// -timeout of scripts/fuzz.sh would then report it.)
let unsafePathFragments = ["dev/", "proc/", "sys/", "run/", "/dev", "/proc", "/sys", "/run"]

let base = ExporterConfiguration(targets: [])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBuffer(data, size), as: UTF8.self)
    let lowercased = text.lowercased()
    guard !unsafePathFragments.contains(where: { FuzzSupport.bytes(lowercased.utf8, contain: $0.utf8) }) else { return 0 }
    do {
        _ = try ConfigurationFile.parse(text, file: "fuzz.yml", base: base, baseLimits: TargetLimits())
    } catch let error as ConfigurationError {
        let description = Array(error.description.utf8)
        // Lines split on "\n" bytes (a String splits "\r\n" as one character), without the
        // white space around them: a value folded from an indented line is quoted without it.
        for line in Array(text.utf8).split(separator: UInt8(ascii: "\n")) {
            let lineText = String(decoding: line, as: UTF8.self).trimmingWhitespace()
            // A key alone (`password_env:`) is a setting's name, which errors may say.
            let keyAlone = lineText.hasSuffix(":") && !lineText.dropLast().contains(where: { $0 == ":" || $0 == " " })
            guard lineText.count > 12, !keyAlone, FuzzSupport.bytes(lineText.lowercased().utf8, contain: "password".utf8) else { continue }
            fuzzCheck(!FuzzSupport.bytes(description, contain: lineText.utf8),
                      "the error \(error.description.debugDescription) repeats the line \(lineText.debugDescription)")
        }
    } catch {
        fuzzCheck(false, "threw \(type(of: error)), not a ConfigurationError")
    }
    return 0
}

@main struct FuzzConfigurationMain {
    static func main() {
        FuzzMain.run { data, size in fuzz(data, size) }
    }
}
