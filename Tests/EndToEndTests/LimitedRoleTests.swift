import Foundation
import Testing
import TestSupport

/// A monitoring role without `pg_monitor` (a managed service before it is granted): the
/// exporter says what it cannot see, once in the log, on `/` and in a metric, and never serves
/// a partial pg_stat_activity or top-statements view as the whole.
@Suite(.serialized, .needsTestBed) struct LimitedRoleTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    static let capabilities = ["other_roles_sessions_and_statements", "wal_directory", "archive_status_directory", "statements_extension"]

    private func missing(_ scrape: ScrapeText) -> [Double?] {
        Self.capabilities.map { scrape.value("pgstack_exporter_role_capability_missing", ["capability": $0]) }
    }

    @Test func aRoleWithoutPgMonitorIsToldWhatItCannotSee() async throws {
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        try await admin.run("DROP ROLE IF EXISTS pgstack_limited")
        try await admin.run("CREATE ROLE pgstack_limited LOGIN")
        let limitedDSN = bed.primaryDSN.replacingOccurrences(of: "user=pgstack_monitor", with: "user=pgstack_limited")
        try await withCleanup {
            let exporter = try await ExporterProcess.start([], environment: ["DATA_SOURCE_NAME": limitedDSN])
            try await stopping(exporter) {
                _ = try await exporter.scrape()
                let scrape = try await exporter.scrape()
                #expect(scrape.samples("pgstack_exporter_role_capability_missing").count == 4)
                #expect(missing(scrape) == [1, 1, 1, 0])
                #expect(scrape.samples("pgstack_exporter_role_capability_missing", ["capability": "wal_directory"]).first?.labels["granted_by"]?
                    .contains("pg_monitor") == true)
                // Absent, not partial: other roles' sessions have no state or times for this role.
                for name in ["pg_stat_activity_count", "pg_stat_activity_oldest_xact_age_seconds", "pg_stat_statements_calls_total", "pg_wal_segments"] {
                    #expect(scrape.samples(name).isEmpty, "\(name)")
                }
                // What the role sees whole stays: backends by type, statement totals.
                #expect(!scrape.samples("pg_stat_statements_database_calls_total").isEmpty)
                #expect(scrape.value("pg_up") == 1)
                let failing = scrape.samples("pgstack_exporter_collector_success").filter { $0.value != 1 }.compactMap { $0.labels["collector"] }
                #expect(failing.isEmpty, "every collector succeeds: \(failing)")
                let log = exporter.log
                #expect(log.components(separatedBy: "cannot see everything").count == 2, "said once: \(log)")
                #expect(log.contains("other_roles_sessions_and_statements (grant: pg_read_all_stats (in pg_monitor))"))
                let page = try await exporter.get("/").text
                #expect(page.contains("Cannot see") && page.contains("other roles sessions and statements (grant pg_read_all_stats (in pg_monitor))"))
            }

            let monitor = try await ExporterProcess.start([], environment: ["DATA_SOURCE_NAME": bed.primaryDSN])
            try await stopping(monitor) {
                let scrape = try await monitor.scrape()
                #expect(missing(scrape) == [0, 0, 0, 0])
                #expect(!scrape.samples("pg_stat_activity_count").isEmpty && !scrape.samples("pg_stat_statements_calls_total").isEmpty)
                #expect(!monitor.log.contains("cannot see everything"))
                #expect(!(try await monitor.get("/").text.contains("Cannot see")))
            }
        } cleanup: {
            _ = try? await admin.run("DROP ROLE IF EXISTS pgstack_limited")
            await admin.close()
        }
    }
}
