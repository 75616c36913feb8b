import Collectors
import Exporter
import Foundation
import PostgresClient
import Testing
import TestSupport

/// Archiving, statements and series budgets under real workloads on the primary.
@Suite(.serialized, .needsTestBed) struct WorkloadScenarioTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    @Test func aFailingArchiveCommandIsCountedAndPendingSegmentsPileUpUntilFixed() async throws {
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)])
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            let command = try #require(try await primary.value("SHOW archive_command"))
            let before = try await engine.scrape()
            let failedBefore = try #require(before.value("pg_stat_archiver_failed_count"))
            let archivedBefore = try #require(before.value("pg_stat_archiver_archived_count"))

            try await primary.setSystem("archive_command", to: "false")
            do {
                try await primary.run("CREATE TABLE IF NOT EXISTS archive_probe (n int); INSERT INTO archive_probe VALUES (1)")
                try await primary.run("SELECT pg_switch_wal()")
                #expect(try await eventually {
                    let scrape = try await engine.scrape()
                    return (scrape.value("pg_stat_archiver_failed_count") ?? 0) > failedBefore
                        && (scrape.value("pg_stat_archiver_pending_segments") ?? 0) >= 1
                })
                #expect((try await engine.scrape().value("pg_stat_archiver_last_failure_age_seconds") ?? 99) < 30)
            } catch {
                try await primary.setSystem("archive_command", to: command)
                throw error
            }
            try await primary.setSystem("archive_command", to: command)
            #expect(try await eventually(timeout: .seconds(90)) {
                let scrape = try await engine.scrape()
                return scrape.value("pg_stat_archiver_pending_segments") == 0
                    && (scrape.value("pg_stat_archiver_archived_count") ?? 0) > archivedBefore
            })
        } cleanup: {
            await engine.shutdown()
            await primary.close()
        }
    }

    @Test func statementsShowTopNWithTheirCallsAndCountSlowOnes() async throws {
        var options = CollectorOptions()
        options.statementsTopN = 200
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)], options: options)
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            // From a clean slate, so that on a bed reused for many runs the statement below is not
            // pushed out of the top 200 by earlier runs' statements.
            try await primary.run("SELECT pg_stat_statements_reset()")
            let table = "stmt_probe_\(UInt32.random(in: 0...UInt32.max))"
            let slowTable = table + "_slow"
            try await primary.run("CREATE TABLE \(table) (n int); CREATE TABLE \(slowTable) (n int)")
            let slowLabels = ["datname": "postgres", "usename": "postgres"]
            let slowBefore = try await engine.scrape().value("pg_stat_statements_slow_statements", slowLabels) ?? 0

            for _ in 0..<40 { try await primary.run("SELECT count(*) FROM \(table)") }
            try await primary.run("SELECT count(*) FROM \(slowTable), pg_sleep(0.2)")
            let queryID = try #require(try await primary.value(
                "SELECT queryid FROM pg_stat_statements WHERE query = 'SELECT count(*) FROM \(table)'"))

            let scrape = try await engine.scrape()
            let labels = ["queryid": queryID, "datname": "postgres", "usename": "postgres"]
            #expect(scrape.value("pg_stat_statements_calls_total", labels) == 40)
            #expect((scrape.value("pg_stat_statements_seconds_total", labels) ?? -1) >= 0)
            #expect(scrape.value("pg_stat_statements_rows_total", labels) == 40)
            #expect(scrape.value("pg_stat_statements_slow_statements", slowLabels) == slowBefore + 1)
            #expect(scrape.value("pg_stat_statements_available") == 1)
            #expect((scrape.value("pg_stat_statements_database_calls_total", slowLabels) ?? 0) >= 41)
            #expect(scrape.samples("pg_stat_statements_query_info").isEmpty)
        } cleanup: {
            await engine.shutdown()
            await primary.close()
        }
    }

    @Test func topNBoundsTheStatementSeriesWhateverTheChurn() async throws {
        var options = CollectorOptions()
        options.statementsTopN = 5
        options.statementsIncludeQuery = true
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)], options: options)
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            for index in 0..<30 {
                try await primary.run("SELECT \(index) AS n, count(*) FROM pg_class WHERE relpages > \(index) AND relname <> 'x\(index)' GROUP BY relkind LIMIT \(index + 1) OFFSET 0 -- churn \(index)")
                try await primary.run("SELECT count(*) FROM pg_attribute a\(index)")
            }
            let scrape = try await engine.scrape()
            for name in ["pg_stat_statements_calls_total", "pg_stat_statements_seconds_total", "pg_stat_statements_mean_seconds", "pg_stat_statements_query_info"] {
                #expect(scrape.samples(name).count == 5, "\(name)")
            }
            let texts = scrape.samples("pg_stat_statements_query_info").compactMap { $0.labels["query"] }
            #expect(texts.count == 5)
            #expect(texts.allSatisfy { $0.count <= 120 && !$0.contains("\n") })
        } cleanup: {
            await engine.shutdown()
            await primary.close()
        }
    }

    /// pg_stat_statements keeps utility statements word for word: a role's password set with
    /// `ALTER ROLE … PASSWORD` must not become a label value of the statement texts.
    @Test func aStatementThatSetsAPasswordIsNotShown() async throws {
        var options = CollectorOptions()
        options.statementsTopN = 500
        options.statementsIncludeQuery = true
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)], options: options)
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        let secret = "Victim-Pa55-\(UInt32.random(in: 0...UInt32.max))"
        try await primary.run("DROP ROLE IF EXISTS pgstack_victim; CREATE ROLE pgstack_victim")
        for _ in 0..<3 { try await primary.run("ALTER ROLE pgstack_victim PASSWORD '\(secret)'") }
        let scrape = try await engine.scrape()
        try await primary.run("DROP ROLE pgstack_victim")
        await engine.shutdown()
        await primary.close()
        let texts = scrape.samples("pg_stat_statements_query_info").compactMap { $0.labels["query"] }
        #expect(texts.count > 5)
        #expect(texts.contains("(not shown: the text mentions a password)"))
        #expect(!texts.contains { $0.contains(secret) })
    }

    @Test func theSeriesOfAFullScrapeStayWithinBudget() async throws {
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN), ("replica", .postgres, bed.replicaDSN)])
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            let counted = try await primary.value("SELECT count(*) FROM pg_database WHERE NOT datistemplate")
            let databases = Double(try #require(counted)) ?? 0
            let scrape = try await engine.scrape()
            for target in ["primary", "replica"] {
                let own = scrape.samples.filter { $0.labels["target"] == target }
                let io = own.filter { $0.name.hasPrefix("pg_stat_io_") }.count
                // Fixed: the top-25 statements (6 series each), replication, WAL, settings, self
                // metrics. Per database: states, ages, locks, pg_stat_database, size, unused
                // indexes and the statement totals of its users. Nothing grows with tables or
                // statements. pg_stat_io (16+) on its own budget: up to 16 series per row of the
                // view with I/O (106 on a fresh 17 bed, 181 on 18), at most 824 on 18.
                let budget = 400 + 80 * Int(databases)
                #expect(own.count - io <= budget, "\(target): \(own.count - io) series, budget \(budget)")
                #expect(io <= 400, "\(target): \(io) pg_stat_io series")
                print("series for \(target): \(own.count) of which pg_stat_io \(io) (budget \(budget) + 400, \(Int(databases)) databases)")
            }
        } cleanup: {
            await engine.shutdown()
            await primary.close()
        }
    }

    /// A database of 2,500 tables and a budget of 600 series, which the default collectors
    /// (about 490) fit in and the tables collector (20 tables a database) takes past: it is cut
    /// for the scrape and counted; everything else, `pg_up` and the self metrics stay.
    @Test func aCollectorPastTheSeriesBudgetIsCutAndCounted() async throws {
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        var limits = TargetLimits()
        limits.maxSeries = 600
        let tables = try #require(CollectorCatalog.named("tables", for: .postgres))
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)], limits: limits) { target in
            // Without pg_stat_io, whose 100–200 series (16+) would take the defaults past the budget.
            target.collectors.removeAll { $0.name == "io" }
            target.collectors += [tables]
        }
        try await withCleanup {
            _ = try await admin.run("DROP DATABASE IF EXISTS pgstack_budget")
            _ = try await admin.run("CREATE DATABASE pgstack_budget")
            let budgetDSN = bed.primaryAdminDSN.replacingOccurrences(of: "dbname=postgres", with: "dbname=pgstack_budget")
            #expect(budgetDSN != bed.primaryAdminDSN)
            let budget = try await AdminConnection.open(budgetDSN)
            try await withCleanup {
                _ = try await budget.run("DO $$ BEGIN FOR i IN 1..2500 LOOP EXECUTE format('CREATE TABLE t%s (n int)', i); END LOOP; END $$", timeout: .seconds(120))
            } cleanup: {
                await budget.close()
            }
            for _ in 0..<2 {
                let scrape = try await engine.scrape(budget: .seconds(30))
                #expect(scrape.value("pg_up", ["target": "primary"]) == 1)
                #expect(scrape.samples.filter { $0.name.hasPrefix("pg_stat_user_tables_") }.isEmpty)
                #expect(scrape.value("pg_stat_database_xact_commit", ["target": "primary", "datname": "postgres"]) != nil)
                let own = scrape.samples.filter { $0.labels["target"] == "primary" && !$0.name.hasPrefix("pgstack_exporter_") && $0.name != "pg_up" }
                #expect(own.count <= 600 && own.count > 300, "\(own.count) series from the collectors")
            }
            let scrape = try await engine.scrape(budget: .seconds(30))
            let dropped = try #require(scrape.value("pgstack_exporter_series_dropped_total", ["target": "primary", "collector": "tables"]))
            #expect(dropped >= 3 * 20 * 5)
            #expect(scrape.value("pgstack_exporter_series_dropped_total", ["target": "primary", "collector": "connections"]) == 0)
            #expect(scrape.value("pgstack_exporter_collector_success", ["target": "primary", "collector": "tables"]) == 1)
            print("series budget: \(Int(dropped)) series of the tables collector dropped over 3 scrapes (max_series 600, 2500 tables in one of the databases)")
        } cleanup: {
            await engine.shutdown()
            _ = try? await admin.run("DROP DATABASE IF EXISTS pgstack_budget WITH (FORCE)")
            await admin.close()
        }
    }
}
