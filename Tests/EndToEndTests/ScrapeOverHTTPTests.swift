import Foundation
import Testing
import TestSupport

/// The real binary, scraped over HTTP the way Prometheus scrapes it.
@Suite(.needsTestBed) struct ScrapeOverHTTPTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    /// The drop-in names promtool may object to: those in the first table of
    /// docs/drop-in-names.md, read from the document itself so the two cannot drift.
    static func namesPromtoolMayObjectTo() throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/drop-in-names.md"), encoding: .utf8)
        let section = text.components(separatedBy: "## Other drop-in names").first ?? ""
        return Set(section.split(separator: "\n").filter { $0.hasPrefix("| `") }.compactMap { $0.split(separator: "`").dropFirst().first.map(String.init) })
    }

    private func startOnWholeBed() async throws -> ExporterProcess {
        let file = NSTemporaryDirectory() + "pgstack-e2e-\(UUID().uuidString).yml"
        try """
            targets:
              - {name: primary, kind: postgres, dsn: "\(bed.primaryDSN)"}
              - {name: replica, kind: postgres, dsn: "\(bed.replicaDSN)"}
              - {name: pgbouncer, kind: pgbouncer, dsn: "\(bed.pgbouncerDSN)"}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return try await ExporterProcess.start(["--config.file", file])
    }

    @Test func aFullScrapeOfTheBedIsCompleteAndPassesPromtool() async throws {
        // A client through PgBouncer, so that its pools and stats have rows to check.
        try await PoolerClient.run(["SELECT 1"], through: bed.appPgbouncerDSN)
        let exporter = try await startOnWholeBed()
        try await stopping(exporter) {
            let response = try await exporter.get("/metrics")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            let scrape = try ScrapeText(response.text)
            #expect(scrape.value("pg_up", ["target": "primary"]) == 1)
            #expect(scrape.value("pg_up", ["target": "replica"]) == 1)
            #expect(scrape.value("pgbouncer_up", ["target": "pgbouncer"]) == 1)
            #expect(scrape.value("pg_replication_is_replica", ["target": "replica"]) == 1)
            #expect(scrape.value("pg_replication_is_replica", ["target": "primary"]) == 0)
            #expect(scrape.samples("pgbouncer_version_info").count == 1)
            #expect(!scrape.samples("pgbouncer_pools_client_maxwait_seconds", ["database": "appdb"]).isEmpty)
            #expect(!scrape.samples("pgbouncer_stats_totals_queries_pooled_total", ["database": "appdb"]).isEmpty)
            #expect(scrape.value("pgbouncer_config_max_client_connections") == 200)
            #expect(scrape.value("pgstack_exporter_build_info") == 1)
            #expect((scrape.value("process_resident_memory_bytes") ?? 0) > 1_000_000)
            #expect(scrape.samples("pgstack_exporter_collector_success").count == 32)  // 13 per PostgreSQL target, 6 for PgBouncer
            for sample in scrape.samples("pgstack_exporter_collector_success") {
                #expect(sample.value == 1, "\(sample.labels)")
            }
            for name in Set(scrape.samples.map(\.name)) {
                #expect(scrape.types[name] != nil, "\(name) has no TYPE")
                #expect(scrape.helps[name]?.isEmpty == false, "\(name) has no HELP")
            }

            let promtool = try await Command.run("promtool", ["check", "metrics"], input: response.text)
            let complaints = (promtool.text + promtool.standardError).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            let accepted = try Self.namesPromtoolMayObjectTo()
            #expect(accepted.contains("pg_stat_activity_count"))
            let unexpected = complaints.filter { !accepted.contains(String($0.prefix { $0 != " " })) }
            #expect(unexpected.isEmpty, "promtool: \(unexpected)")
        }
    }

    @Test func gzipIsServedWhenAskedAndTheOtherPagesAnswer() async throws {
        let exporter = try await startOnWholeBed()
        try await stopping(exporter) {
            let compressed = try await exporter.get("/metrics", headers: ["Accept-Encoding": "gzip"], decompress: false)
            #expect(compressed.status == 200)
            #expect(compressed.headers["content-encoding"] == "gzip")
            let file = NSTemporaryDirectory() + "pgstack-\(UUID().uuidString).gz"
            try Data(compressed.body).write(to: URL(fileURLWithPath: file))
            let text = try await Command.check("gzip", ["-dc", file]).text
            #expect(try ScrapeText(text).value("pg_up", ["target": "primary"]) == 1)

            let refused = try await exporter.get("/metrics", headers: ["Accept-Encoding": "gzip;q=0, identity"], decompress: false)
            #expect(refused.headers["content-encoding"] == nil)

            let landing = try await exporter.get("/")
            #expect(landing.status == 200)
            #expect(landing.text.contains("<h2>primary <span class=\"kind\">(postgres)</span>"))
            #expect(!landing.text.contains(bed.monitorPassword))
            #expect(!landing.text.contains("127.0.0.1"))
            #expect(try await exporter.get("/healthz").text == "ok\n")
            #expect(try await exporter.get("/no/such/page").status == 404)
        }
    }

    @Test func idleInTransactionSessionsAreCountedAndAged() async throws {
        let exporter = try await ExporterProcess.start([], environment: ["DATA_SOURCE_NAME": bed.primaryDSN])
        try await stopping(exporter) {
            let labels = ["datname": "postgres", "state": "idle in transaction"]
            let before = try await exporter.scrape().value("pg_stat_activity_count", labels) ?? -1

            let sessions = try await IdleTransactions.open(3, dsn: bed.primaryAdminDSN)
            try await Task.sleep(for: .milliseconds(1200))
            let during = try await exporter.scrape()
            #expect(during.value("pg_stat_activity_count", labels) == before + 3)
            #expect((during.value("pg_stat_activity_max_tx_duration", labels) ?? 0) >= 1)
            #expect((during.value("pg_stat_activity_idle_in_transaction_max_age_seconds", ["datname": "postgres"]) ?? 0) >= 1)
            #expect((during.value("pg_stat_activity_oldest_xact_age_seconds", ["datname": "postgres"]) ?? 0) >= 1)

            await sessions.close()
            let after = try await exporter.scrape()
            #expect(after.value("pg_stat_activity_count", labels) == before)
            #expect(after.value("pg_stat_activity_idle_in_transaction_max_age_seconds", ["datname": "postgres"]) == 0)
        }
    }
}
