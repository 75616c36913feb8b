import Collectors
import Exporter
import PostgresClient
import Testing
import TestSupport

/// Per-database collectors in every database the target has, found and refreshed from
/// pg_database, on a capped set of reused connections.
@Suite(.serialized, .needsTestBed) struct DiscoveryTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    @Test func aNewDatabaseIsFoundAtTheNextRefreshAndReadOnCappedConnections() async throws {
        let applicationName = "pgstack_disco_\(UInt32.random(in: 0...UInt32.max))"
        let database = "disco_\(UInt32.random(in: 0...UInt32.max))"
        let engine = try EngineHarness([("primary", .postgres, TestBed.withApplicationName(bed.primaryDSN, applicationName))]) { target in
            target.collectors = CollectorCatalog.defaults(for: .postgres) + [tablesCollector]
            target.databases.refresh = .seconds(1)
            target.databases.maxConnections = 2
            target.databases.exclude = ["^disco_excluded"]
        }
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {

            let before = try await engine.scrape()
            #expect(before.value("pgstack_exporter_collector_success", ["collector": "tables"]) == 1)
            #expect(before.samples("pg_stat_user_tables_n_live_tup", ["datname": database]).isEmpty)

            try await admin.run("CREATE DATABASE \(database)")
            try await admin.run("CREATE DATABASE disco_excluded_\(database)")
            do {
                let inNew = try await AdminConnection.open(bed.primaryAdminDSN + " dbname=\(database)")
                try await inNew.run("CREATE TABLE orders (n int); INSERT INTO orders SELECT generate_series(1, 500); ANALYZE orders")
                for _ in 0..<5 { try await inNew.run("SELECT count(*) FROM orders") }
                await inNew.close()
                try await Task.sleep(for: .milliseconds(1200))

                let after = try await engine.scrape()
                #expect(after.value("pg_stat_user_tables_n_live_tup", ["datname": database, "relname": "orders"]) == 500)
                #expect(after.samples("pg_stat_user_tables_n_live_tup").allSatisfy { !($0.labels["datname"] ?? "").hasPrefix("disco_excluded") })
                #expect((after.value("pg_stat_statements_database_calls_total", ["datname": database, "usename": "postgres"]) ?? 0) >= 5)
                #expect(after.value("pgstack_exporter_collector_success", ["collector": "tables"]) == 1)

                let held = try #require(try await admin.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(applicationName)'"))
                #expect((Int(held) ?? 99) <= 1 + 2, "the exporter held \(held) connections")
                _ = try await engine.scrape()
                let again = try #require(try await admin.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(applicationName)'"))
                #expect((Int(again) ?? 99) <= 1 + 2)
            } catch {
                _ = try? await admin.run("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
                _ = try? await admin.run("DROP DATABASE IF EXISTS disco_excluded_\(database) WITH (FORCE)")
                throw error
            }
            try await admin.run("DROP DATABASE \(database) WITH (FORCE)")
            try await admin.run("DROP DATABASE disco_excluded_\(database) WITH (FORCE)")
            try await Task.sleep(for: .milliseconds(1200))
            let gone = try await engine.scrape()
            #expect(gone.samples("pg_stat_user_tables_n_live_tup", ["datname": database]).isEmpty)
        } cleanup: {
            await engine.shutdown()
            await admin.close()
        }
    }
}
