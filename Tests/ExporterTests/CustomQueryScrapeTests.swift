import Collectors
import Exporter
import Foundation
import Testing
import TestSupport

/// Custom queries (queries.yaml and `custom_queries:`) scraped from the real primary and
/// replica, on whichever PostgreSQL version the bed runs.
@Suite(.serialized, .needsTestBed) struct CustomQueryScrapeTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    private func harness(_ queries: [CustomQuery], replica: Bool = false) throws -> EngineHarness {
        try harness(collectors: queries.map(\.collector), replica: replica)
    }

    private func harness(collectors: [Collector], replica: Bool = false) throws -> EngineHarness {
        var targets: [(String, ServerInfo.Kind, String)] = [("primary", .postgres, bed.primaryDSN)]
        if replica { targets.append(("replica", .postgres, bed.replicaDSN)) }
        return try EngineHarness(targets) { $0.collectors += collectors }
    }

    private func success(_ scrape: ScrapeText, _ collector: String, target: String = "primary") -> Double? {
        scrape.value("pgstack_exporter_collector_success", ["target": target, "collector": collector])
    }

    @Test func theExampleQueriesFileGivesItsMetricsOnPrimaryAndReplica() async throws {
        let queries = try CustomQueriesFile.load(path: CustomQueryFileTests.examples.appendingPathComponent("queries.yaml").path)
        let engine = try harness(queries, replica: true)
        try await withCleanup {
            let scrape = try await engine.scrape()
            for target in ["primary", "replica"] {
                #expect(queries.map { success(scrape, $0.name, target: target) } == [1, 1, 1, 1, 1], "\(target)")
                #expect((scrape.value("pg_custom_database_size_bytes", ["target": target, "datname": "appdb"]) ?? 0) > 1_000_000)
                #expect((scrape.value("pg_custom_transactions_xact_commit", ["target": target, "datname": "postgres"]) ?? 0) > 0)
                #expect(scrape.value("pg_custom_oldest_transaction_age_milliseconds", ["target": target]) != nil)
            }
            let slots = scrape.samples("pg_custom_slots_retained_bytes", ["target": "primary"])
            #expect(slots.count == 2, "the bed's slots: the replica's and the subscriber's")
            #expect(Set(slots.compactMap { $0.labels["slot_type"] }) == ["physical", "logical"])
            #expect(scrape.samples("pg_custom_slots_retained_bytes", ["target": "replica"]).isEmpty)
            #expect(scrape.samples("pg_custom_xlog_position_bytes").isEmpty, "runonserver <10.0.0 skips it")
            #expect(scrape.value("pg_up", ["target": "primary"]) == 1)
        } cleanup: {
            await engine.shutdown()
        }
    }

    @Test func aBrokenWritingOrSlowQueryFailsAloneWithinItsOwnTimeout() async throws {
        let queries = try CustomQueriesFile.parse("""
            pg_misnamed:
              query: SELECT 1 AS lag
              metrics:
                - lags: {usage: GAUGE}
            pg_bad_sql:
              query: SELECT * FROM no_such_table
              metrics:
                - n: {usage: GAUGE}
            pg_writes:
              query: CREATE TABLE pg_writes_probe AS SELECT 1 AS n
              metrics:
                - n: {usage: GAUGE}
            pg_two_statements:
              query: SELECT 1 AS n; SELECT 2 AS n
              metrics:
                - n: {usage: GAUGE}
            pg_fine:
              query: SELECT 42 AS answer
              metrics:
                - answer: {usage: GAUGE}
            """, file: "q.yaml")
        var slow = try CustomQueriesFile.parse("pg_slow:\n  query: SELECT pg_sleep(30) IS NULL AS slept\n  metrics:\n    - slept: {usage: GAUGE}\n", file: "s")[0]
        slow.timeout = .milliseconds(300)
        let engine = try harness(queries + [slow])
        try await withCleanup {
            let started = ContinuousClock.now
            let scrape = try await engine.scrape(budget: .seconds(8))
            #expect(ContinuousClock.now - started < .seconds(4), "the slow query is cancelled at its own 300 ms")
            #expect(["pg_misnamed", "pg_bad_sql", "pg_writes", "pg_two_statements", "pg_slow", "pg_fine"].map { success(scrape, $0) }
                    == [0, 0, 0, 0, 0, 1])
            let admin = try await AdminConnection.open(bed.primaryAdminDSN)
            #expect(try await admin.value("SELECT to_regclass('pg_writes_probe') IS NULL") == "t", "the read-only transaction refused the write")
            await admin.close()
            #expect(scrape.value("pg_fine_answer") == 42)
            #expect(success(scrape, "connections") == 1 && success(scrape, "wal") == 1, "the built-in collectors are untouched")
            // The next scrape works the same: the failures left the session usable.
            let again = try await engine.scrape(budget: .seconds(8))
            #expect(again.value("pg_fine_answer") == 42 && success(again, "server") == 1)
        } cleanup: {
            await engine.shutdown()
        }
    }

    @Test func aDatabaseScopedQueryRunsInEveryDatabaseAndACachedOneIsReused() async throws {
        let text = """
            targets:
              - name: primary
                kind: postgres
                dsn: "\(bed.primaryDSN)"
                custom_queries:
                  - name: pg_here
                    scope: database
                    query: SELECT count(*) AS relations FROM pg_class;
                    metrics: [{relations: {usage: GAUGE}}]
                  - name: pg_cached
                    cache: 1m
                    query: SELECT extract(epoch FROM clock_timestamp()) AS now
                    metrics: [{now: {usage: GAUGE}}]
                  - name: pg_uncached
                    query: SELECT extract(epoch FROM clock_timestamp()) AS now
                    metrics: [{now: {usage: GAUGE}}]
            """
        let configuration = try ConfigurationFile.parse(text, file: "c.yml", base: ExporterConfiguration(targets: []), baseLimits: TargetLimits())
        let engine = try harness(collectors: configuration.targets[0].collectors.filter { $0.summary.hasPrefix("Custom query") })
        try await withCleanup {
            let first = try await engine.scrape()
            let perDatabase = first.samples("pg_here_relations")
            #expect(Set(perDatabase.compactMap { $0.labels["datname"] }).isSuperset(of: ["postgres", "appdb"]))
            #expect(perDatabase.allSatisfy { $0.value > 50 })
            try await Task.sleep(for: .milliseconds(50))
            let second = try await engine.scrape()
            #expect(first.value("pg_cached_now") != nil && first.value("pg_cached_now") == second.value("pg_cached_now"))
            #expect((second.value("pg_uncached_now") ?? 0) > (first.value("pg_uncached_now") ?? .infinity))
            #expect(success(second, "pg_here") == 1)
        } cleanup: {
            await engine.shutdown()
        }
    }
}
