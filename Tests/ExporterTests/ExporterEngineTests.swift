import Collectors
import Exporter
import Exposition
import Foundation
import Logging
import PostgresClient
import Testing
import TestSupport

/// The scrape engine in-process, against the real test bed.
@Suite(.needsTestBed) struct ExporterEngineTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    private func exporter(_ targets: [(String, ServerInfo.Kind, String)]) throws -> Exporter {
        try EngineHarness(targets).exporter
    }

    private func scrape(_ exporter: Exporter, budget: Duration = .seconds(5)) async throws -> ScrapeText {
        try ScrapeText(String(decoding: await exporter.scrape(budget: budget) ?? [], as: UTF8.self))
    }

    /// Settings change only on a reload or a restart: read once a minute, not on every scrape,
    /// so a changed one shows within that minute.
    @Test func settingsAreReadOnceAMinuteNotOnEveryScrape() async throws {
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)]) { $0.collectors = [settingsCollector] }
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            let before = try #require(try await engine.scrape().value("pg_settings_work_mem_bytes"))
            try await admin.run("ALTER SYSTEM SET work_mem = '7MB'")
            _ = try await admin.value("SELECT pg_reload_conf()")
            #expect(try await eventually(timeout: .seconds(5)) {
                try await admin.value("SELECT reset_val FROM pg_settings WHERE name = 'work_mem'") == "7168"
            })
            #expect(try await engine.scrape().value("pg_settings_work_mem_bytes") == before)
        } cleanup: {
            _ = try? await admin.run("ALTER SYSTEM RESET work_mem")
            _ = try? await admin.value("SELECT pg_reload_conf()")
            await engine.shutdown()
            await admin.close()
        }
    }

    @Test func everyTargetIsScrapedAndLabelled() async throws {
        let exporter = try exporter([("primary", .postgres, bed.primaryDSN), ("bouncer", .pgbouncer, bed.pgbouncerDSN)])
        try await withCleanup {
            let scrape = try await scrape(exporter)
            #expect(scrape.value("pg_up", ["target": "primary"]) == 1)
            #expect(scrape.value("pgbouncer_up", ["target": "bouncer"]) == 1)
            #expect(scrape.value("pg_replication_is_replica", ["target": "primary"]) == 0)
            #expect(scrape.value("pg_settings_max_connections", ["target": "primary"]) == 100)
            #expect(scrape.samples("pg_stat_activity_count", ["target": "primary", "datname": "postgres"]).count >= 6)
            #expect(scrape.samples("pgbouncer_version_info", ["target": "bouncer"]).first?.labels["version"]?.hasPrefix("PgBouncer 1.") == true)
            #expect(scrape.samples("pgstack_exporter_collector_success").count == DefaultCollectors.postgres + DefaultCollectors.pgbouncer)
            for sample in scrape.samples("pgstack_exporter_collector_success") {
                #expect(sample.value == 1, "\(sample.labels)")
            }
        } cleanup: {
            await exporter.shutdown()
        }
    }

    /// A server that accepts TCP connections but never answers: connecting hangs until
    /// libpq's connect_timeout (2 s at least), longer than the scrape's budget.
    @Test func aTargetThatHangsYieldsUpZeroWithinTheBudget() async throws {
        let silent = try SilentServer()
        defer { silent.close() }
        let exporter = try exporter([("silent", .postgres, "host=127.0.0.1 port=\(silent.port) dbname=postgres user=x connect_timeout=10")])
        try await withCleanup {
            let started = ContinuousClock.now
            let scrape = try await scrape(exporter, budget: .milliseconds(800))
            let took = ContinuousClock.now - started
            #expect(took < .milliseconds(1500), "scrape took \(took)")
            #expect(scrape.value("pg_up", ["target": "silent"]) == 0)
            #expect(scrape.value("pgstack_exporter_collector_success", ["target": "silent", "collector": "server"]) == 0)
        } cleanup: {
            await exporter.shutdown()
        }
    }

    @Test func concurrentScrapesShareOneCollectionAndOneConnection() async throws {
        let applicationName = "pgstack_engine_\(UInt32.random(in: 0...UInt32.max))"
        let exporter = try exporter([("primary", .postgres, TestBed.withApplicationName(bed.primaryDSN, applicationName))])
        try await withCleanup {
            let admin = try await Connection.connect(to: try ConnectionString(bed.primaryAdminDSN), on: BlockingPool(threadCount: 1))
            let results = await withTaskGroup(of: Double?.self) { group in
                for _ in 0..<50 {
                    group.addTask { try? ScrapeText(String(decoding: await exporter.scrape(budget: .seconds(5)) ?? [], as: UTF8.self)).value("pg_up") }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 50)
            #expect(results.allSatisfy { $0 == 1 })
            let sessions = try admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(applicationName)'")
            #expect(sessions.rows == [["\(TestBed.exporterSessions)"]])
        } cleanup: {
            await exporter.shutdown()
        }
    }

    /// A collector's statements go to PostgreSQL together; one that fails fails its collector
    /// alone, and the next collector still runs under the target's timeouts.
    @Test func aFailingStatementFailsItsCollectorOnlyAndTheTimeoutsStay() async throws {
        let broken = Collector(name: "broken", targetKind: .postgres, summary: "s", queries: [
            MetricQuery(sql: "SELECT 1 AS one", metrics: [ColumnMetric("broken_first", .gauge, column: "one", help: "h")]),
            MetricQuery(sql: "SELECT n FROM no_such_table", metrics: [ColumnMetric("broken_second", .gauge, column: "n", help: "h")]),
        ])
        let timeouts = Collector(name: "timeouts", targetKind: .postgres, summary: "s", queries: [
            MetricQuery(sql: "SELECT setting AS statement_timeout FROM pg_settings WHERE name = 'statement_timeout'",
                        metrics: [ColumnMetric("session_statement_timeout", .gauge, column: "statement_timeout", help: "h")]),
            MetricQuery(sql: "SELECT setting AS lock_timeout FROM pg_settings WHERE name = 'lock_timeout';",
                        metrics: [ColumnMetric("session_lock_timeout", .gauge, column: "lock_timeout", help: "h")]),
        ])
        var limits = TargetLimits()
        limits.collectorTimeout = .milliseconds(4321)
        limits.lockTimeout = .milliseconds(1234)
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)], limits: limits) { $0.collectors = [broken, timeouts, broken, timeouts] }
        try await withCleanup {
            for _ in 0..<2 {
                let scrape = try await engine.scrape()
                #expect(scrape.value("pgstack_exporter_collector_success", ["collector": "broken"]) == 0)
                #expect(scrape.samples("broken_first").isEmpty)
                #expect(scrape.value("pgstack_exporter_collector_success", ["collector": "timeouts"]) == 1)
                #expect(scrape.value("session_statement_timeout") == 4321)
                #expect(scrape.value("session_lock_timeout") == 1234)
            }
        } cleanup: {
            await engine.shutdown()
        }
    }

    /// Through a transaction-pooling PgBouncer, the exporter's statements prepared on one
    /// server session are gone on the next. Here a collector deallocates them between two
    /// others: every collector must still answer, on this scrape and the next.
    @Test func aSessionThatLosesItsPreparedStatementsStillAnswersEveryCollector() async throws {
        func selectOne(_ name: String) -> Collector {
            Collector(name: name, targetKind: .postgres, summary: "s", queries: [
                MetricQuery(sql: "SELECT 1 AS one", metrics: [ColumnMetric("session_\(name)", .gauge, column: "one", help: "h")]),
            ])
        }
        let forget = Collector(name: "forget", targetKind: .postgres, summary: "s", queries: [
            MetricQuery(sql: "DEALLOCATE ALL", metrics: []),
        ])
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)]) { $0.collectors = [selectOne("before"), forget, selectOne("after")] }
        return try await withCleanup {
            for _ in 0..<3 {
                let scrape = try await engine.scrape()
                #expect(scrape.samples("pgstack_exporter_collector_success").map(\.value) == [1, 1, 1])
                #expect(scrape.value("session_before") == 1)
                #expect(scrape.value("session_after") == 1)
            }
        } cleanup: {
            await engine.shutdown()
        }
    }

    /// A collection keeps the target's one connection from collector to collector, but a role
    /// check that arrives meanwhile is answered between two collectors, not after the last.
    @Test func aRoleCheckDuringASlowCollectionIsAnsweredBetweenCollectors() async throws {
        let slow = (0..<4).map { index in
            Collector(name: "slow\(index)", targetKind: .postgres, summary: "s", queries: [
                MetricQuery(sql: "SELECT 1 AS one FROM pg_sleep(0.5)", metrics: [ColumnMetric("slow\(index)_one", .gauge, column: "one", help: "h")]),
            ])
        }
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)]) { $0.collectors = slow }
        try await withCleanup {
            let scrape = Task { try await engine.scrape() }
            try await Task.sleep(for: .milliseconds(200))
            let asked = ContinuousClock.now
            let answer = await engine.exporter.answer(.primary, target: "primary")
            let took = ContinuousClock.now - asked
            #expect(answer?.ok == true)
            #expect(took < .milliseconds(1000), "the role check waited \(took) for a 2 s collection")
            #expect(try await scrape.value.value("slow3_one") == 1)
        } cleanup: {
            await engine.shutdown()
        }
    }

    /// Pointed at PostgreSQL through a transaction-pooling PgBouncer (a pool of one server
    /// session, shared with the application), the exporter still answers, and leaves nothing
    /// on the shared session: the application's next transaction, on that same server session,
    /// runs without the exporter's timeouts.
    @Test func throughATransactionPoolerTheSharedSessionIsLeftAsFound() async throws {
        var limits = TargetLimits()
        limits.collectorTimeout = .milliseconds(4321)
        let probe = Collector(name: "probe", targetKind: .postgres, summary: "s", queries: [
            MetricQuery(sql: "SELECT setting AS statement_timeout FROM pg_settings WHERE name = 'statement_timeout'",
                        metrics: [ColumnMetric("pooled_statement_timeout", .gauge, column: "statement_timeout", help: "h")]),
        ])
        let engine = try EngineHarness([("pooled", .postgres, bed.appPool1PgbouncerDSN)], limits: limits) { $0.collectors = [probe] }
        try await withCleanup {
            let application = try await Connection.connect(to: try ConnectionString(bed.appPool1PgbouncerDSN), on: BlockingPool(threadCount: 1))
            defer { application.close() }
            for _ in 0..<3 {
                #expect(try await engine.scrape().value("pooled_statement_timeout") == 4321)
                #expect(try application.execute("SHOW statement_timeout").rows == [["0"]])
            }
        } cleanup: {
            await engine.shutdown()
        }
    }
}
