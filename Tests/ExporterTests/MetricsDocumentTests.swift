import Collectors
import Exporter
import Foundation
import Testing
import TestSupport

/// docs/metrics.md must say exactly what the collectors define, and docs/drop-in-names.md may
/// name only metrics the collectors make.
@Suite struct MetricsDocumentTests {
    @Test func everyDropInNameIsAFamilyOfTheCatalog() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/drop-in-names.md")
        let rows = try String(contentsOf: path, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("| `") }
        let names = rows.compactMap { $0.split(separator: "`").dropFirst().first.map(String.init) }
        #expect(names.count == rows.count)
        #expect(names.count >= 40, "docs/drop-in-names.md lists \(names.count) names")
        let families = MetricsDocument.allMetrics.map(\.name)
        for name in names {
            // A row may stand for several families: `pg_stat_bgwriter_*_total`, `pg_settings_<name>…`.
            let parts = name.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
            let made = families.filter { family in
                if let open = name.firstIndex(of: "<") { return family.hasPrefix(name[..<open]) }
                return parts.count == 2 ? family.hasPrefix(parts[0]) && family.hasSuffix(parts[1]) : family == name
            }.count
            #expect(made > 0, "docs/drop-in-names.md names \(name), which the exporter does not make")
        }
    }

    @Test func theMetricsDocumentMatchesTheCollectors() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/metrics.md").path
        let expected = MetricsDocument.markdown()
        if ProcessInfo.processInfo.environment["PGSTACK_UPDATE_DOCS"] == "1" {
            try expected.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let actual = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        #expect(actual == expected, "docs/metrics.md is out of date: run PGSTACK_UPDATE_DOCS=1 swift test --filter MetricsDocumentTests")
    }

    @Test func theBlackBoxTestsCountTheDefaultCollectors() {
        #expect(DefaultCollectors.postgres == CollectorCatalog.defaults(for: .postgres).count)
        #expect(DefaultCollectors.pgbouncer == CollectorCatalog.defaults(for: .pgbouncer).count)
    }
}
