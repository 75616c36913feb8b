import Foundation
import PostgresClient
import Testing
import TestSupport

/// The PgBouncer collectors through the real binary, against the test bed's PgBouncer 1.18.
@Suite(.needsTestBed) struct PgBouncerTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    private func startExporter() async throws -> ExporterProcess {
        try await ExporterProcess.start([], environment: ["PGBOUNCER_DSN": bed.pgbouncerDSN])
    }

    /// Every family PgBouncer 1.18 can give (1.19+ adds peers; 1.23+ and 1.24+ add columns).
    static let families118 = [
        "pgbouncer_version_info",
        "pgbouncer_pools_client_active_connections", "pgbouncer_pools_client_waiting_connections",
        "pgbouncer_pools_client_active_cancel_connections", "pgbouncer_pools_client_waiting_cancel_connections",
        "pgbouncer_pools_server_active_connections", "pgbouncer_pools_server_active_cancel_connections",
        "pgbouncer_pools_server_being_canceled_connections", "pgbouncer_pools_server_idle_connections",
        "pgbouncer_pools_server_used_connections", "pgbouncer_pools_server_testing_connections",
        "pgbouncer_pools_server_login_connections", "pgbouncer_pools_client_maxwait_seconds", "pgbouncer_pools_pool_mode_info",
        "pgbouncer_stats_totals_sql_transactions_pooled_total", "pgbouncer_stats_totals_queries_pooled_total",
        "pgbouncer_stats_totals_received_bytes_total", "pgbouncer_stats_totals_sent_bytes_total",
        "pgbouncer_stats_totals_server_in_transaction_seconds_total", "pgbouncer_stats_totals_queries_duration_seconds_total",
        "pgbouncer_stats_totals_client_wait_seconds_total",
        "pgbouncer_databases_pool_size", "pgbouncer_databases_min_pool_size", "pgbouncer_databases_reserve_pool",
        "pgbouncer_databases_max_connections", "pgbouncer_databases_current_connections", "pgbouncer_databases_paused",
        "pgbouncer_databases_disabled",
        "pgbouncer_databases", "pgbouncer_users", "pgbouncer_pools", "pgbouncer_free_clients", "pgbouncer_used_clients",
        "pgbouncer_login_clients", "pgbouncer_free_servers", "pgbouncer_used_servers", "pgbouncer_cached_dns_names",
        "pgbouncer_cached_dns_zones", "pgbouncer_in_flight_dns_queries",
        "pgbouncer_config_max_client_connections", "pgbouncer_config_max_user_connections",
        "pgbouncer_config_max_db_connections", "pgbouncer_config_default_pool_size", "pgbouncer_config_min_pool_size",
        "pgbouncer_config_reserve_pool_size", "pgbouncer_config_query_wait_timeout_seconds", "pgbouncer_config_pool_mode_info",
    ]

    @Test func everyFamilyAppearsWithSensibleValues() async throws {
        try await PoolerClient.run(["SELECT 1"], through: bed.appPgbouncerDSN)
        let exporter = try await startExporter()
        try await stopping(exporter) {
            let scrape = try await exporter.scrape()

            #expect(scrape.value("pgbouncer_up", ["target": "pgbouncer"]) == 1)
            #expect(scrape.samples("pgstack_exporter_collector_success").count == DefaultCollectors.pgbouncer)
            for sample in scrape.samples("pgstack_exporter_collector_success") {
                #expect(sample.value == 1, "\(sample.labels)")
            }
            for name in Self.families118 {
                #expect(!scrape.samples(name).isEmpty, "\(name) is missing")
            }
            #expect(scrape.samples("pgbouncer_version_info").first?.labels["version"] == "PgBouncer 1.18.0")

            // pgbouncer.ini (scripts/testbed.py): default_pool_size 5, max_client_conn 200, transaction mode.
            #expect(scrape.value("pgbouncer_config_max_client_connections") == 200)
            #expect(scrape.value("pgbouncer_config_default_pool_size") == 5)
            #expect(scrape.value("pgbouncer_config_max_user_connections") == 0)
            #expect(scrape.value("pgbouncer_config_query_wait_timeout_seconds") == 120)
            #expect(scrape.value("pgbouncer_config_pool_mode_info", ["pool_mode": "transaction"]) == 1)

            // appdb has no pool_mode and no force_user of its own (NULL): empty labels.
            let appdb = ["name": "appdb", "database": "appdb", "host": "127.0.0.1", "force_user": "", "pool_mode": ""]
            #expect(scrape.value("pgbouncer_databases_pool_size", appdb) == 5)
            #expect(scrape.value("pgbouncer_databases_pool_size", ["name": "appdb_pool1", "pool_mode": "transaction"]) == 1)
            #expect(scrape.value("pgbouncer_databases_paused", appdb) == 0)
            #expect(scrape.value("pgbouncer_pools_pool_mode_info", ["database": "appdb", "user": "pgstack_app", "pool_mode": "transaction"]) == 1)
            #expect((scrape.value("pgbouncer_stats_totals_queries_pooled_total", ["database": "appdb"]) ?? 0) >= 1)

            // SHOW LISTS: the four [databases] entries (the console's own included); this
            // exporter's console session is a client in use.
            #expect(scrape.value("pgbouncer_databases") == 4)
            #expect((scrape.value("pgbouncer_used_clients") ?? 0) >= 1)

            // The exporter's console session names itself in the startup packet (nothing is SET).
            let console = try await PoolerClient.connect(bed.pgbouncerDSN)
            let clients = try await console.run("SHOW CLIENTS")
            await console.close()
            let database = try #require(clients.index(of: "database"))
            let application = try #require(clients.index(of: "application_name"))
            #expect(clients.rows.contains { $0[database] == "pgbouncer" && $0[application] == "pgstack_exporter" })

            // The console's own pseudo-database is left out by default.
            #expect(scrape.samples.filter { $0.name.hasPrefix("pgbouncer_") }.count > 20)
            for sample in scrape.samples where sample.name.hasPrefix("pgbouncer_") {
                #expect(sample.labels["database"] != "pgbouncer" && sample.labels["name"] != "pgbouncer", "\(sample.name) \(sample.labels)")
            }
        }
    }

    /// One client holds the only server connection of `appdb_pool1` in a transaction; a second
    /// one's query waits in PgBouncer. Waits under a second must show.
    @Test func aWaitingClientShowsWithItsSubSecondWait() async throws {
        let exporter = try await startExporter()
        try await stopping(exporter) {
            let pool = ["target": "pgbouncer", "database": "appdb_pool1", "user": "pgstack_app"]

            let holder = try await PoolerClient.connect(bed.appPool1PgbouncerDSN)
            try await holder.run("BEGIN; SELECT 1")
            let waiter: PoolerClient
            do {
                waiter = try await PoolerClient.connect(bed.appPool1PgbouncerDSN)
            } catch {
                await holder.close()
                throw error
            }
            let waiting = Task { try await waiter.run("SELECT 2") }
            do {
                // Scrape until the waiter shows (its query reached PgBouncer), then 300 ms later.
                var first = try await exporter.scrape()
                var tries = 1
                while (first.value("pgbouncer_pools_client_waiting_connections", pool) ?? 0) < 1 && tries < 100 {
                    try await Task.sleep(for: .milliseconds(10))
                    first = try await exporter.scrape()
                    tries += 1
                }
                try await Task.sleep(for: .milliseconds(300))
                let second = try await exporter.scrape()

                #expect((first.value("pgbouncer_pools_client_waiting_connections", pool) ?? 0) >= 1)
                #expect((second.value("pgbouncer_pools_client_waiting_connections", pool) ?? 0) >= 1)
                #expect(second.value("pgbouncer_pools_server_active_connections", pool) == 1)
                let firstWait = try #require(first.value("pgbouncer_pools_client_maxwait_seconds", pool))
                let secondWait = try #require(second.value("pgbouncer_pools_client_maxwait_seconds", pool))
                #expect(firstWait >= 0 && firstWait < 1, "first maxwait \(firstWait)")
                #expect(secondWait >= firstWait + 0.25 && secondWait < 1, "maxwait \(firstWait) then \(secondWait)")
                // The pool is full: server connections against the pool size, per database entry.
                let entry = ["name": "appdb_pool1"]
                #expect(second.value("pgbouncer_databases_current_connections", entry) == second.value("pgbouncer_databases_pool_size", entry))
            } catch {
                await holder.close()
                waiting.cancel()
                await waiter.close()
                throw error
            }

            try await holder.run("COMMIT")
            #expect(try await waiting.value.rows == [["2"]])
            await holder.close()
            await waiter.close()
            let after = try await exporter.scrape()
            #expect(after.value("pgbouncer_pools_client_waiting_connections", pool) == 0)
            #expect(after.value("pgbouncer_pools_client_maxwait_seconds", pool) == 0)
        }
    }

    /// PgBouncer adds to STATS_TOTALS as each query ends, so the counters move by exactly what
    /// ran: here 5 single-statement transactions and one of 4 statements.
    @Test func statsTotalsMoveByTheQueriesRunThroughThePooler() async throws {
        try await PoolerClient.run(["SELECT 1"], through: bed.appPgbouncerDSN)
        let exporter = try await startExporter()
        try await stopping(exporter) {
            let appdb = ["target": "pgbouncer", "database": "appdb"]
            let names = [
                "pgbouncer_stats_totals_queries_pooled_total", "pgbouncer_stats_totals_sql_transactions_pooled_total",
                "pgbouncer_stats_totals_received_bytes_total", "pgbouncer_stats_totals_sent_bytes_total",
                "pgbouncer_stats_totals_queries_duration_seconds_total", "pgbouncer_stats_totals_server_in_transaction_seconds_total",
            ]
            let before = try await exporter.scrape()
            try await PoolerClient.run(
                (1...5).map { "SELECT \($0)" } + ["BEGIN", "SELECT pg_sleep(0.01)", "SELECT 7", "COMMIT"], through: bed.appPgbouncerDSN)
            let after = try await exporter.scrape()

            var moved: [String: Double] = [:]
            for name in names {
                let start = try #require(before.value(name, appdb), "\(name) before")
                let end = try #require(after.value(name, appdb), "\(name) after")
                moved[name] = end - start
            }
            #expect(moved["pgbouncer_stats_totals_queries_pooled_total"] == 9)
            #expect(moved["pgbouncer_stats_totals_sql_transactions_pooled_total"] == 6)
            #expect((moved["pgbouncer_stats_totals_received_bytes_total"] ?? 0) > 0)
            #expect((moved["pgbouncer_stats_totals_sent_bytes_total"] ?? 0) > 0)
            #expect((moved["pgbouncer_stats_totals_queries_duration_seconds_total"] ?? 0) >= 0.01)
            #expect((moved["pgbouncer_stats_totals_server_in_transaction_seconds_total"] ?? 0) >= 0.01)
        }
    }

    @Test func pgbouncerDownGivesUpZeroInTimeAndBackGivesACompleteScrape() async throws {
        let exporter = try await startExporter()
        try await stopping(exporter) {
            #expect(try await exporter.scrape().value("pgbouncer_up") == 1)

            let outage = try await bed.outage(of: "pgbouncer", scraping: exporter)
            #expect(outage.downScrapeTook < .seconds(3))
            #expect(outage.down.value("pgbouncer_up", ["target": "pgbouncer"]) == 0)
            for collector in ["version", "pools", "stats", "databases", "lists", "config"] {
                #expect(outage.down.value("pgstack_exporter_collector_success", ["collector": collector]) == 0, "\(collector)")
            }
            #expect(outage.down.samples("pgbouncer_databases_pool_size").isEmpty)

            // Back, without restarting the exporter: the next scrape is complete.
            let back = outage.back
            #expect(back.value("pgbouncer_up", ["target": "pgbouncer"]) == 1)
            #expect(back.samples("pgstack_exporter_collector_success").count == DefaultCollectors.pgbouncer)
            for sample in back.samples("pgstack_exporter_collector_success") {
                #expect(sample.value == 1, "\(sample.labels)")
            }
            #expect(back.value("pgbouncer_databases_pool_size", ["name": "appdb"]) == 5)
            #expect(back.value("pgbouncer_config_max_client_connections") == 200)
            #expect(exporter.log.contains("target unreachable"))
        }
    }
}
