import Foundation
import Testing
import TestSupport

/// `--help` against the README: every flag of the README's table, in its order, with its
/// environment variable and default.
@Suite struct HelpTextTests {
    @Test func helpListsTheReadmeFlagsWithTheirEnvironmentAndDefaults() async throws {
        let output = try await Command.run(ExporterProcess.binaryPath, ["--help"])
        #expect(output.exitCode == 0)
        // ArgumentParser wraps lines: compare with whitespace folded.
        let help = output.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| `--") }.map { line in
            line.split(separator: "|").map { $0.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces) }
        }
        #expect(rows.count >= 18)
        var position = help.startIndex
        for row in rows {
            let (flag, environment, defaultText, meaning) = (row[0], row[1], row[2], row[3])
            let entry = try #require(help.range(of: "\(flag) ", range: position..<help.endIndex), "\(flag) missing or out of order in --help")
            position = entry.upperBound
            let next = help.range(of: " --", range: position..<help.endIndex)?.lowerBound ?? help.endIndex
            let text = String(help[position..<next])
            #expect(text.contains(meaning), "\(flag): --help says \(text)")
            if !environment.isEmpty { #expect(text.contains("env: \(environment)"), "\(flag): --help says \(text)") }
            if !defaultText.isEmpty { #expect(text.contains("default: \(defaultText))"), "\(flag): --help says \(text)") }
        }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
