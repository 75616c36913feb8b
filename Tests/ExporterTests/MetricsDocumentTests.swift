import Exporter
import Foundation
import Testing

/// docs/metrics.md must say exactly what the collectors define.
@Suite struct MetricsDocumentTests {
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
}
