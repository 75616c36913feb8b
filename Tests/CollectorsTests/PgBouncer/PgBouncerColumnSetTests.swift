import Collectors
import Exposition
import PostgresClient
import Testing

/// The PgBouncer collectors against the console of every release family from 1.8 to 1.25, as
/// recorded from PgBouncer's documentation and source (`shared/reference/pgbouncer.md` §3–§4):
/// each `SHOW`'s columns with their types, in the order that release prints them. The same
/// mapping code must turn each into the families that release can give, and ignore what a
/// future release adds.
@Suite struct PgBouncerColumnSetTests {
    @Test(arguments: RecordedRelease.all)
    func eachReleaseGivesTheFamiliesItsColumnsAllow(release: RecordedRelease) async throws {
        let families = try await release.scrape()
        for collector in CollectorCatalog.defaults(for: .pgbouncer) {
            let expected = try collector.metrics.map(\.name).filter { name in
                try #require(RecordedRelease.since[name], "\(name) has no 'since' entry") <= release.version
            }
            let got = families[collector.name]?.map(\.name)
            #expect(got == expected, "\(release.name) \(collector.name)")
        }
    }

    @Test(arguments: RecordedRelease.all)
    func valuesAreReadByNameWhateverTheColumnOrderAndRenames(release: RecordedRelease) async throws {
        let all = try await release.scrape().values.flatMap { $0 }
        let pool = ["database": "appdb", "user": "app"]
        #expect(value(all, "pgbouncer_pools_client_active_connections", pool) == 5)
        #expect(value(all, "pgbouncer_pools_client_waiting_connections", pool) == 3)
        #expect(value(all, "pgbouncer_pools_server_used_connections", pool) == 1)
        // maxwait 1 s + maxwait_us 228454 µs: the microsecond part counts.
        #expect(value(all, "pgbouncer_pools_client_maxwait_seconds", pool) == 1.228454)
        #expect(value(all, "pgbouncer_pools_pool_mode_info", pool.merging(["pool_mode": "transaction"]) { $1 }) == 1)
        if release.version >= 11600 {
            // cl_cancel_req (1.16–1.17) and cl_waiting_cancel_req (1.18+) hold the same count.
            #expect(value(all, "pgbouncer_pools_client_waiting_cancel_connections", pool) == 2)
        }

        let app = ["database": "appdb"]
        #expect(value(all, "pgbouncer_stats_totals_queries_pooled_total", app) == 18)
        #expect(value(all, "pgbouncer_stats_totals_received_bytes_total", app) == 506)
        #expect(value(all, "pgbouncer_stats_totals_queries_duration_seconds_total", app) == 0.407137)
        #expect(value(all, "pgbouncer_stats_totals_client_wait_seconds_total", app) == 0.00788)
        // The largest value each release's type can hold: int8 up to 1.11, numeric (any
        // unsigned 64-bit value) from 1.12.
        let largest = release.version >= 11200 ? Double(UInt64.max) : Double(Int64.max)
        #expect(value(all, "pgbouncer_stats_totals_sent_bytes_total", ["database": "busy"]) == largest)
        #expect(value(all, "pgbouncer_stats_totals_client_wait_seconds_total", ["database": "busy"]) == largest / 1_000_000)
        if release.version >= 12400 {
            #expect(value(all, "pgbouncer_stats_totals_binds_total", app) == 9)
        }

        // NULL host, force_user and pool_mode become empty labels and break nothing.
        let appdb = ["name": "appdb", "host": "127.0.0.1", "port": "5432", "database": "appdb", "force_user": "", "pool_mode": ""]
        let socketdb = ["name": "socketdb", "host": "", "port": "5432", "database": "postgres", "force_user": "reporter", "pool_mode": "session"]
        #expect(value(all, "pgbouncer_databases_pool_size", appdb) == 5)
        #expect(value(all, "pgbouncer_databases_pool_size", socketdb) == 1)
        // reserve_pool before 1.24, reserve_pool_size from 1.24: the same metric.
        #expect(value(all, "pgbouncer_databases_reserve_pool", appdb) == 2)
        #expect(value(all, "pgbouncer_databases_current_connections", appdb) == 4)
        #expect(value(all, "pgbouncer_databases_paused", socketdb) == 1)
        #expect(value(all, "pgbouncer_databases_disabled", socketdb) == 1)

        #expect(value(all, "pgbouncer_used_clients") == 12)
        #expect(value(all, "pgbouncer_cached_dns_names") == 1)
        #expect(value(all, "pgbouncer_config_max_client_connections") == 100)
        #expect(value(all, "pgbouncer_config_default_pool_size") == 20)
        #expect(value(all, "pgbouncer_config_query_wait_timeout_seconds") == 120)
        #expect(value(all, "pgbouncer_config_pool_mode_info", ["pool_mode": "session"]) == 1)
        #expect(value(all, "pgbouncer_version_info", ["version": "PgBouncer \(release.name)"]) == 1)
    }

    @Test func theAdminDatabaseIsLeftOutUnlessTheOptionKeepsIt() async throws {
        let release = try #require(RecordedRelease.all.first { $0.name == "1.25.0" })
        let admin = ["pgbouncer_pools_client_active_connections", "pgbouncer_stats_totals_queries_pooled_total", "pgbouncer_databases_pool_size"]
        func adminSamples(_ families: [MetricFamily]) -> Int {
            families.filter { admin.contains($0.name) }.flatMap(\.samples)
                .filter { $0.labels.contains(Label("database", "pgbouncer")) || $0.labels.contains(Label("name", "pgbouncer")) }.count
        }
        #expect(adminSamples(try await release.scrape().values.flatMap { $0 }) == 0)
        var options = CollectorOptions()
        options.includeAdminDatabase = true
        #expect(adminSamples(try await release.scrape(options: options).values.flatMap { $0 }) == 3)
    }

    @Test func whatAFutureReleaseAddsIsIgnored() async throws {
        let current = try #require(RecordedRelease.all.last)
        let future = current.adding(
            version: 12600, name: "1.26.0",
            columns: ["SHOW POOLS": "cl_quantum int4", "SHOW STATS_TOTALS": "client_login_count numeric, quantum_flux_count numeric",
                      "SHOW DATABASES": "quantum_mode text", "SHOW CONFIG": "source text"],
            listRows: [["quantum_links", "7"]], configRows: [["quantum_pool_size", "3"]])
        let now = try await current.scrape()
        let later = try await future.scrape()
        for (collector, families) in now {
            #expect(later[collector]?.map(\.name) == families.map(\.name), "\(collector)")
            #expect(later[collector]?.map(\.samples.count) == families.map(\.samples.count), "\(collector)")
        }
    }

    @Test func aKeyValueResultWithoutItsColumnsFailsTheCollector() throws {
        let lists = try #require(pgbouncerListsCollector.query(producing: "pgbouncer_pools"))
        #expect(throws: PostgresError.self) {
            try lists.families(from: QueryResult(columns: ["name", "size"], rows: [["x", "1"]]))
        }
        let nullValue = QueryResult(columns: ["list", "items"], rows: [["users", nil], ["pools", "2"]])
        #expect(try lists.families(from: nullValue).map(\.name) == ["pgbouncer_pools"])
    }

    private func value(_ families: [MetricFamily], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        families.first { $0.name == name }?.samples.first { sample in
            labels.allSatisfy { sample.labels.contains(Label($0.key, $0.value)) }
        }?.value
    }
}

/// One PgBouncer release's admin console: what each `SHOW` returns (columns typed as
/// `name type`, in the release's order; rows as text, NULL as `nil`).
struct RecordedRelease: Sendable, CustomTestStringConvertible {
    let version: Int
    let name: String
    /// Per command: `"name type, name type, …"`.
    let columns: [String: String]
    let listRows: [[String?]]
    let configRows: [[String?]]

    var testDescription: String { "PgBouncer \(name)" }

    /// Each command's result, built from the column set and the rows below.
    func console(options: CollectorOptions = CollectorOptions()) -> RecordedConsole {
        var results: [String: QueryResult] = [:]
        for (command, columnText) in columns {
            let typed = columnText.split(separator: ",").map { $0.split(separator: " ").map(String.init) }
            let names = typed.map { $0[0] }
            let rows: [[String?]] = switch command {
            case "SHOW LISTS": listRows
            case "SHOW CONFIG": configRows.map { row in
                names.map { ["key": row[0], "value": row[1], "default": row[1], "changeable": "yes"][$0] ?? nil }
            }
            case "SHOW VERSION": version >= 11200 ? [["PgBouncer \(name)"]] : []
            default: Self.entityRows[command, default: []].map { row in
                typed.map { column in
                    // "MAX": the largest value this release's type for the column can hold.
                    row[column[0]].flatMap { $0 == "MAX" ? (column[1] == "numeric" ? "\(UInt64.max)" : "\(Int64.max)") : $0 }
                }
            }
            }
            // Up to 1.11 SHOW VERSION answers with a notice only: no columns, no row.
            results[command] = QueryResult(columns: command == "SHOW VERSION" && version < 11200 ? [] : names, rows: rows)
        }
        return RecordedConsole(server: ServerInfo(versionNumber: version, versionText: "\(name)/bouncer"), options: options, results: results)
    }

    /// Every PgBouncer collector run on this console, by collector name.
    func scrape(options: CollectorOptions = CollectorOptions()) async throws -> [String: [MetricFamily]] {
        let console = console(options: options)
        var families: [String: [MetricFamily]] = [:]
        for collector in CollectorCatalog.defaults(for: .pgbouncer) {
            families[collector.name] = try await collector.collect(from: console)
        }
        return families
    }

    /// This release with columns and rows appended (a made-up future release).
    func adding(version: Int, name: String, columns extra: [String: String], listRows: [[String?]], configRows: [[String?]]) -> RecordedRelease {
        RecordedRelease(
            version: version, name: name, columns: columns.merging(extra) { $0 + ", " + $1 },
            listRows: self.listRows + listRows, configRows: self.configRows + configRows)
    }

    /// The rows of the one-row-per-entity commands, by column name: the union of every
    /// release's columns (a release shows the ones it has). `nil` is SQL NULL.
    static let entityRows: [String: [[String: String?]]] = [
        "SHOW POOLS": [
            ["database": "appdb", "user": "app", "cl_active": "5", "cl_waiting": "3", "cl_cancel_req": "2",
             "cl_active_cancel_req": "1", "cl_waiting_cancel_req": "2", "sv_active": "5", "sv_active_cancel": "1",
             "sv_being_canceled": "0", "sv_idle": "0", "sv_used": "1", "sv_tested": "0", "sv_login": "0",
             "maxwait": "1", "maxwait_us": "228454", "pool_mode": "transaction", "load_balance_hosts": nil],
            ["database": "pgbouncer", "user": "pgbouncer", "cl_active": "1", "cl_waiting": "0", "cl_cancel_req": "0",
             "cl_active_cancel_req": "0", "cl_waiting_cancel_req": "0", "sv_active": "0", "sv_active_cancel": "0",
             "sv_being_canceled": "0", "sv_idle": "0", "sv_used": "0", "sv_tested": "0", "sv_login": "0",
             "maxwait": "0", "maxwait_us": "0", "pool_mode": "statement", "load_balance_hosts": nil],
        ],
        "SHOW STATS_TOTALS": [
            ["database": "appdb", "server_assignment_count": "40", "xact_count": "18", "query_count": "18",
             "bytes_received": "506", "bytes_sent": "1359", "xact_time": "407137", "query_time": "407137", "wait_time": "7880",
             "client_parse_count": "3", "server_parse_count": "2", "bind_count": "9"],
            ["database": "busy", "server_assignment_count": "1", "xact_count": "1", "query_count": "1",
             "bytes_received": "1", "bytes_sent": "MAX", "xact_time": "1", "query_time": "1", "wait_time": "MAX",
             "client_parse_count": "0", "server_parse_count": "0", "bind_count": "0"],
            ["database": "pgbouncer", "server_assignment_count": "0", "xact_count": "28", "query_count": "28",
             "bytes_received": "0", "bytes_sent": "0", "xact_time": "0", "query_time": "0", "wait_time": "0",
             "client_parse_count": "0", "server_parse_count": "0", "bind_count": "0"],
        ],
        "SHOW DATABASES": [
            ["name": "appdb", "host": "127.0.0.1", "port": "5432", "database": "appdb", "force_user": nil,
             "pool_size": "5", "min_pool_size": "0", "reserve_pool": "2", "reserve_pool_size": "2", "server_lifetime": "3600",
             "pool_mode": nil, "load_balance_hosts": nil, "max_connections": "0", "current_connections": "4",
             "max_client_connections": "0", "current_client_connections": "7", "paused": "0", "disabled": "0"],
            ["name": "socketdb", "host": nil, "port": "5432", "database": "postgres", "force_user": "reporter",
             "pool_size": "1", "min_pool_size": "0", "reserve_pool": "0", "reserve_pool_size": "0", "server_lifetime": "3600",
             "pool_mode": "session", "load_balance_hosts": nil, "max_connections": "0", "current_connections": "0",
             "max_client_connections": "0", "current_client_connections": "0", "paused": "1", "disabled": "1"],
            ["name": "pgbouncer", "host": nil, "port": "6432", "database": "pgbouncer", "force_user": "pgbouncer",
             "pool_size": "2", "min_pool_size": "0", "reserve_pool": "0", "reserve_pool_size": "0", "server_lifetime": "0",
             "pool_mode": "statement", "load_balance_hosts": nil, "max_connections": "0", "current_connections": "0",
             "max_client_connections": "0", "current_client_connections": "0", "paused": "0", "disabled": "0"],
        ],
    ]

    // MARK: Column sets per release (reference §4; positions there, types from src/pktbuf.c)

    static let pools18 = """
        database text, user text, cl_active int4, cl_waiting int4, sv_active int4, sv_idle int4, sv_used int4, \
        sv_tested int4, sv_login int4, maxwait int4, maxwait_us int4, pool_mode text
        """
    static let pools116 = """
        database text, user text, cl_active int4, cl_waiting int4, cl_cancel_req int4, sv_active int4, sv_idle int4, \
        sv_used int4, sv_tested int4, sv_login int4, maxwait int4, maxwait_us int4, pool_mode text
        """
    static let pools118 = """
        database text, user text, cl_active int4, cl_waiting int4, cl_active_cancel_req int4, cl_waiting_cancel_req int4, \
        sv_active int4, sv_active_cancel int4, sv_being_canceled int4, sv_idle int4, sv_used int4, sv_tested int4, \
        sv_login int4, maxwait int4, maxwait_us int4, pool_mode text
        """
    /// 1.24 appends `load_balance_hosts`.
    static let pools124 = pools118 + ", load_balance_hosts text"

    static let statsTotals18 = """
        database text, xact_count int8, query_count int8, bytes_received int8, bytes_sent int8, xact_time int8, \
        query_time int8, wait_time int8
        """
    /// 1.12: the same columns, now numeric.
    static let statsTotals112 = """
        database text, xact_count numeric, query_count numeric, bytes_received numeric, bytes_sent numeric, \
        xact_time numeric, query_time numeric, wait_time numeric
        """
    static let statsTotals123 = """
        database text, server_assignment_count numeric, xact_count numeric, query_count numeric, bytes_received numeric, \
        bytes_sent numeric, xact_time numeric, query_time numeric, wait_time numeric
        """
    /// 1.24 appends the three prepared-statement counters.
    static let statsTotals124 = statsTotals123 + ", client_parse_count numeric, server_parse_count numeric, bind_count numeric"

    static let databases18 = """
        name text, host text, port int4, database text, force_user text, pool_size int4, reserve_pool int4, \
        pool_mode text, max_connections int4, current_connections int4, paused int4, disabled int4
        """
    static let databases116 = """
        name text, host text, port int4, database text, force_user text, pool_size int4, min_pool_size int4, \
        reserve_pool int4, pool_mode text, max_connections int4, current_connections int4, paused int4, disabled int4
        """
    static let databases123 = """
        name text, host text, port int4, database text, force_user text, pool_size int4, min_pool_size int4, \
        reserve_pool int4, server_lifetime int4, pool_mode text, max_connections int4, current_connections int4, \
        paused int4, disabled int4
        """
    /// 1.24 renames reserve_pool and adds three columns; where the two client-connection
    /// columns stand is not in the reference, so they follow current_connections here.
    static let databases124 = """
        name text, host text, port int4, database text, force_user text, pool_size int4, min_pool_size int4, \
        reserve_pool_size int4, server_lifetime int4, pool_mode text, load_balance_hosts text, max_connections int4, \
        current_connections int4, max_client_connections int4, current_client_connections int4, paused int4, disabled int4
        """

    static let lists18: [[String?]] = [
        ["databases", "3"], ["users", "4"], ["pools", "2"], ["free_clients", "47"], ["used_clients", "12"],
        ["login_clients", "0"], ["free_servers", "48"], ["used_servers", "5"], ["dns_names", "1"], ["dns_zones", "0"],
        ["dns_queries", "0"], ["dns_pending", "0"],
    ]
    /// 1.19 adds `peers` after `users` and `peer_pools` after `pools`.
    static let lists119: [[String?]] = lists18.flatMap { row -> [[String?]] in
        switch row[0] {
        case "users": [row, ["peers", "0"]]
        case "pools": [row, ["peer_pools", "0"]]
        default: [row]
        }
    }
    static let configRows: [[String?]] = [
        ["listen_port", "6432"], ["max_client_conn", "100"], ["max_user_connections", "0"], ["max_db_connections", "0"],
        ["default_pool_size", "20"], ["min_pool_size", "0"], ["reserve_pool_size", "0"], ["query_wait_timeout", "120"],
        ["pool_mode", "session"],
    ]

    static func release(_ version: Int, _ name: String, pools: String, stats: String, databases: String, lists: [[String?]]) -> RecordedRelease {
        RecordedRelease(
            version: version, name: name,
            columns: [
                "SHOW POOLS": pools, "SHOW STATS_TOTALS": stats, "SHOW DATABASES": databases, "SHOW LISTS": "list text, items int4",
                // `default` joined SHOW CONFIG in 1.15.
                "SHOW CONFIG": version >= 11500 ? "key text, value text, default text, changeable text" : "key text, value text, changeable text",
                "SHOW VERSION": "version text",
            ],
            listRows: lists, configRows: configRows)
    }

    static let all: [RecordedRelease] = [
        release(10800, "1.8.0", pools: pools18, stats: statsTotals18, databases: databases18, lists: lists18),
        release(11200, "1.12.0", pools: pools18, stats: statsTotals112, databases: databases18, lists: lists18),
        release(11600, "1.16.0", pools: pools116, stats: statsTotals112, databases: databases116, lists: lists18),
        release(12100, "1.21.0", pools: pools118, stats: statsTotals112, databases: databases116, lists: lists119),
        release(12300, "1.23.0", pools: pools118, stats: statsTotals123, databases: databases123, lists: lists119),
        release(12400, "1.24.0", pools: pools124, stats: statsTotals124, databases: databases124, lists: lists119),
        release(12500, "1.25.0", pools: pools124, stats: statsTotals124, databases: databases124, lists: lists119),
    ]

    /// The release each metric first appears in (reference §4).
    static let since: [String: Int] = [
        "pgbouncer_version_info": 10800,
        "pgbouncer_pools_client_active_connections": 10800,
        "pgbouncer_pools_client_waiting_connections": 10800,
        "pgbouncer_pools_client_active_cancel_connections": 11800,
        "pgbouncer_pools_client_waiting_cancel_connections": 11600,
        "pgbouncer_pools_server_active_connections": 10800,
        "pgbouncer_pools_server_active_cancel_connections": 11800,
        "pgbouncer_pools_server_being_canceled_connections": 11800,
        "pgbouncer_pools_server_idle_connections": 10800,
        "pgbouncer_pools_server_used_connections": 10800,
        "pgbouncer_pools_server_testing_connections": 10800,
        "pgbouncer_pools_server_login_connections": 10800,
        "pgbouncer_pools_client_maxwait_seconds": 10800,
        "pgbouncer_pools_pool_mode_info": 10800,
        "pgbouncer_stats_totals_sql_transactions_pooled_total": 10800,
        "pgbouncer_stats_totals_queries_pooled_total": 10800,
        "pgbouncer_stats_totals_received_bytes_total": 10800,
        "pgbouncer_stats_totals_sent_bytes_total": 10800,
        "pgbouncer_stats_totals_server_in_transaction_seconds_total": 10800,
        "pgbouncer_stats_totals_queries_duration_seconds_total": 10800,
        "pgbouncer_stats_totals_client_wait_seconds_total": 10800,
        "pgbouncer_stats_totals_server_assignments_total": 12300,
        "pgbouncer_stats_totals_client_parses_total": 12400,
        "pgbouncer_stats_totals_server_parses_total": 12400,
        "pgbouncer_stats_totals_binds_total": 12400,
        "pgbouncer_databases_pool_size": 10800,
        "pgbouncer_databases_min_pool_size": 11600,
        "pgbouncer_databases_reserve_pool": 10800,
        "pgbouncer_databases_server_lifetime_seconds": 12300,
        "pgbouncer_databases_max_connections": 10800,
        "pgbouncer_databases_current_connections": 10800,
        "pgbouncer_databases_max_client_connections": 12400,
        "pgbouncer_databases_current_client_connections": 12400,
        "pgbouncer_databases_paused": 10800,
        "pgbouncer_databases_disabled": 10800,
        "pgbouncer_databases": 10800,
        "pgbouncer_users": 10800,
        "pgbouncer_peers": 11900,
        "pgbouncer_pools": 10800,
        "pgbouncer_peer_pools": 11900,
        "pgbouncer_free_clients": 10800,
        "pgbouncer_used_clients": 10800,
        "pgbouncer_login_clients": 10800,
        "pgbouncer_free_servers": 10800,
        "pgbouncer_used_servers": 10800,
        "pgbouncer_cached_dns_names": 10800,
        "pgbouncer_cached_dns_zones": 10800,
        "pgbouncer_in_flight_dns_queries": 10800,
        "pgbouncer_config_max_client_connections": 10800,
        "pgbouncer_config_max_user_connections": 10800,
        "pgbouncer_config_max_db_connections": 10800,
        "pgbouncer_config_default_pool_size": 10800,
        "pgbouncer_config_min_pool_size": 10800,
        "pgbouncer_config_reserve_pool_size": 10800,
        "pgbouncer_config_query_wait_timeout_seconds": 10800,
        "pgbouncer_config_pool_mode_info": 10800,
    ]
}

/// A recorded console answering the collectors' commands; any other command gets the error
/// PgBouncer gives.
struct RecordedConsole: QueryRunner {
    let server: ServerInfo
    let options: CollectorOptions
    let results: [String: QueryResult]

    func query(_ sql: String) async throws -> QueryResult {
        guard let result = results[sql] else {
            throw PostgresError(kind: .queryFailed, sqlState: "08P01", message: "invalid command '\(sql)', use SHOW HELP;")
        }
        return result
    }
}
