import Exporter
import Foundation
import Testing

/// The settings table: the README's flag table says what it declares, and every default is a
/// value the setting itself accepts.
@Suite struct SettingsTableTests {
    /// The README's flag table as (flag, environment, default, meaning) rows, backticks dropped.
    static func readmeFlagRows() throws -> [[String]] {
        let readme = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let lines = try String(contentsOf: readme, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let header = try #require(lines.firstIndex(of: "| flag | environment | default | meaning |"), "README has no flag table")
        return lines[(header + 2)...].prefix { $0.hasPrefix("|") }.map { line in
            line.dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces)
            }
        }
    }

    @Test func theReadmeFlagTableIsTheSettingsTable() throws {
        let rows = try Self.readmeFlagRows()
        #expect(rows.count == Settings.commandLine.count, "README lists \(rows.count) flags, the table declares \(Settings.commandLine.count)")
        for (row, setting) in zip(rows, Settings.commandLine) {
            let declared = ["--" + (setting.flag ?? ""), setting.environment ?? "", setting.defaultText ?? "", setting.help]
            #expect(row == declared)
        }
    }

    @Test func everyDefaultIsAcceptedByItsOwnSetting() throws {
        let all = Settings.commandLine + Settings.targetLimits + Settings.collectorOptions
            + [Settings.inMetrics, Settings.discoveryRefresh, Settings.discoveryMaxConnections]
        let withDefaults = all.filter { $0.defaultText != nil }
        #expect(withDefaults.count >= 25)
        for setting in withDefaults {
            let text = try #require(setting.defaultText)
            switch setting.values {
            case .duration: #expect(throws: Never.self, "\(setting.field)") { try setting.duration(text) }
            case .wholeNumber: #expect(throws: Never.self, "\(setting.field)") { try setting.wholeNumber(text) }
            case .boolean: #expect(throws: Never.self, "\(setting.field)") { try setting.boolean(text) }
            case .choice: #expect(throws: Never.self, "\(setting.field)") { try setting.choice(text) }
            case .text: #expect(!text.isEmpty, "\(setting.field)")
            }
        }
    }

    @Test func flagsAndFileKeysAreUnique() {
        let flags = Settings.commandLine.compactMap(\.flag)
        #expect(flags.count == Settings.commandLine.count)
        #expect(Set(flags).count == flags.count)
        let environment = Settings.commandLine.compactMap(\.environment)
        #expect(Set(environment).count == environment.count)
        let targetKeys = Settings.targetLimits.compactMap(\.fileKey)
        #expect(targetKeys.count == Settings.targetLimits.count && Set(targetKeys).count == targetKeys.count)
    }
}
