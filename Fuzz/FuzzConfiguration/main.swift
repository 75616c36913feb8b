// Fuzzes the YAML configuration file and postgres_exporter's queries.yaml: parsing must not
// trap, must throw nothing but a ConfigurationError, and the error must not repeat a line of the
// document that holds a password. The input is also a custom query's column value (numbers,
// timestamps, durations, mapped text), which must not trap.
import Collectors
import Exporter
import FuzzSupport
import PostgresClient

/// Secret files are read by path; a device, a pipe or /proc could block or fill the memory, so
/// inputs that may name one are skipped. (YAML escapes can still spell such a path; the
/// -timeout of scripts/fuzz.sh would then report it.)
let unsafePathFragments = ["dev/", "proc/", "sys/", "run/", "/dev", "/proc", "/sys", "/run"]

let base = ExporterConfiguration(targets: [])

/// One custom query with a column of every usage, whose values the input becomes.
let everyUsage = try! CustomQueriesFile.parse(
    "q:\n  query: SELECT 1\n  metrics:\n    - l: {usage: LABEL}\n    - c: {usage: COUNTER}\n    - g: {usage: GAUGE}\n"
        + "    - d: {usage: DURATION}\n    - m: {usage: MAPPEDMETRIC, metric_mapping: {a: 1}}\n    - x: {usage: DISCARD}\n",
    file: "fuzz")[0].collector.queries[0]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBuffer(data, size), as: UTF8.self)
    let lowercased = text.lowercased()
    guard !unsafePathFragments.contains(where: { FuzzSupport.bytes(lowercased.utf8, contain: $0.utf8) }) else { return 0 }
    let value = String(text.prefix(80))
    fuzzCheck((try? everyUsage.families(from: QueryResult(columns: ["l", "c", "g", "d", "m", "x"], rows: [Array(repeating: value, count: 6)])))?.count == 4,
              "a row of \(value.debugDescription) did not give the query's four families")
    check { _ = try CustomQueriesFile.parse(text, file: "fuzz.yml") }
    check { _ = try ConfigurationFile.parse(text, file: "fuzz.yml", base: base, baseLimits: TargetLimits()) }
    return 0

    /// Runs a parse: it may throw only a ConfigurationError, which must not quote a password's line.
    func check(_ parse: () throws -> Void) {
        do {
            try parse()
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
    }
}

@main struct FuzzConfigurationMain {
    static func main() {
        FuzzMain.run { data, size in fuzz(data, size) }
    }
}
