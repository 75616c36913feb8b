import Collectors
import Exposition
import Exporter
import Foundation
import Logging
import PostgresClient
import Testing
import TestSupport

/// The scrape engine in-process against the test bed's PgBouncer 1.18.
@Suite(.needsTestBed) struct PgBouncerEngineTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    private func scrape(collectors: [Collector]? = nil, options: CollectorOptions = CollectorOptions()) async throws -> ScrapeText {
        let target = TargetConfiguration(
            name: "bouncer", kind: .pgbouncer, connectionString: try ConnectionString(bed.pgbouncerDSN),
            collectors: collectors, options: options)
        let exporter = Exporter(configuration: ExporterConfiguration(targets: [target]), logger: .init(label: "test"))
        return try await withCleanup {
            return try ScrapeText(String(decoding: await exporter.scrape(budget: .seconds(5)) ?? [], as: UTF8.self))
        } cleanup: {
            await exporter.shutdown()
        }
    }

    /// `SHOW STATE` arrived in PgBouncer 1.19: on 1.18 the console answers it with an error.
    @Test func aFailingShowFailsOnlyItsOwnCollector() async throws {
        let state = Collector(name: "state", targetKind: .pgbouncer, summary: "SHOW STATE", queries: [
            MetricQuery(sql: "SHOW STATE", metrics: [ColumnMetric("pgbouncer_state_paused", .gauge, column: "paused", help: "h")],
                        keyValue: KeyValueColumns(key: "key", value: "value")),
        ])
        let collectors: [Collector] = [pgbouncerVersionCollector, state, pgbouncerPoolsCollector, pgbouncerListsCollector]
        let scrape = try await scrape(collectors: collectors)
        #expect(scrape.value("pgbouncer_up", ["target": "bouncer"]) == 1)
        #expect(scrape.value("pgstack_exporter_collector_success", ["collector": "state"]) == 0)
        #expect(scrape.value("pgstack_exporter_collector_errors_total", ["collector": "state"]) == 1)
        for collector in ["version", "pools", "lists"] {
            #expect(scrape.value("pgstack_exporter_collector_success", ["collector": collector]) == 1, "\(collector)")
        }
        #expect(scrape.value("pgbouncer_databases") == 4)
    }

    @Test func theAdminDatabaseIsKeptWhenTheOptionSaysSo() async throws {
        func adminRows(_ scrape: ScrapeText) -> Int {
            scrape.samples.filter { $0.name.hasPrefix("pgbouncer_") && ($0.labels["database"] == "pgbouncer" || $0.labels["name"] == "pgbouncer") }.count
        }
        #expect(adminRows(try await scrape()) == 0)
        var options = CollectorOptions()
        options.includeAdminDatabase = true
        let kept = try await scrape(options: options)
        #expect(kept.value("pgbouncer_databases_pool_size", ["name": "pgbouncer", "force_user": "pgbouncer", "host": ""]) == 2)
        #expect(kept.value("pgbouncer_pools_pool_mode_info", ["database": "pgbouncer", "pool_mode": "statement"]) == 1)
        // The console counts its own commands: this scrape's SHOWs included.
        #expect((kept.value("pgbouncer_stats_totals_queries_pooled_total", ["database": "pgbouncer"]) ?? 0) >= 1)
    }
}
