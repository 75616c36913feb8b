@testable import Collectors
import Exposition
import PostgresClient
import Synchronization
import Testing

/// The collector engine: SQL chosen by version, columns mapped by name.
@Suite struct CollectorEngineTests {
    @Test func theSQLIsChosenByServerVersion() throws {
        let limits = try #require(connectionsCollector.query(producing: "pg_settings_max_connections"))
        #expect(limits.sql(forVersion: 150018)?.contains("current_setting('reserved_connections')") == false)
        #expect(limits.sql(forVersion: 160000)?.contains("current_setting('reserved_connections')") == true)
        #expect(limits.sql(forVersion: 180001)?.contains("current_setting('reserved_connections')") == true)
        let newOnly = MetricQuery([SQLVariant(from: 170000, "SELECT 1")], metrics: [])
        #expect(newOnly.sql(forVersion: 160004) == nil)
    }

    @Test func columnsAreMappedByNameWhateverTheirOrderAndExtras() throws {
        let query = MetricQuery(
            sql: "unused", labels: ["datname", "state"],
            metrics: [
                ColumnMetric("sessions", .gauge, column: "count", help: "h"),
                ColumnMetric("oldest_seconds", .gauge, column: "age_ms", scale: 0.001, help: "h"),
                ColumnMetric("added_in_v99", .gauge, column: "not_returned", help: "h"),
                ColumnMetric("flag", .gauge, column: "enabled", help: "h"),
            ])
        let result = QueryResult(
            columns: ["a_new_column", "enabled", "age_ms", "state", "count", "datname"],
            rows: [
                ["x", "t", "1500", "active", "3", "app"],
                ["y", "f", nil, "idle", "7", nil],
            ])
        let families = try query.families(from: result)
        #expect(families.map(\.name) == ["sessions", "oldest_seconds", "flag"])
        let sessions = families[0].samples
        #expect(sessions.map(\.value) == [3, 7])
        #expect(sessions[0].labels == [Label("datname", "app"), Label("state", "active")])
        #expect(sessions[1].labels == [Label("datname", ""), Label("state", "idle")])
        #expect(families[1].samples.map(\.value) == [1.5])  // NULL → no sample
        #expect(families[2].samples.map(\.value) == [1, 0])
    }

    @Test func aRenamedColumnIsReadUnderEitherName() throws {
        let query = MetricQuery(
            sql: "unused",
            metrics: [ColumnMetric("reserve", .gauge, columns: ["reserve_pool_size", "reserve_pool"], help: "h")])
        let old = try query.families(from: QueryResult(columns: ["name", "reserve_pool"], rows: [["a", "3"]]))
        let new = try query.families(from: QueryResult(columns: ["reserve_pool_size", "name"], rows: [["4", "a"], [nil, "b"]]))
        let neither = try query.families(from: QueryResult(columns: ["name"], rows: [["a"]]))
        #expect(old.first?.samples.map(\.value) == [3])
        #expect(new.first?.samples.map(\.value) == [4])  // NULL → no sample
        #expect(neither.isEmpty)
    }

    @Test func unitChangesComeOutAsWritten() throws {
        let query = MetricQuery(
            sql: "unused",
            metrics: [
                ColumnMetric("from_ms", .gauge, column: "ms", scale: 0.001, help: "h"),
                ColumnMetric("from_us", .gauge, column: "us", scale: 1e-6, help: "h"),
                ColumnMetric("doubled", .gauge, column: "ms", scale: 2, help: "h"),
            ])
        let families = try query.families(from: QueryResult(columns: ["ms", "us"], rows: [["1234", "407137"]]))
        #expect(families.map { $0.samples.map(\.value) } == [[1.234], [0.407137], [2468]])
    }

    @Test func infoMetricsAreOneWithTheirTextInLabels() throws {
        let query = MetricQuery(sql: "unused", metrics: [.info("server_info", labels: ["version"], help: "h")])
        let families = try query.families(from: QueryResult(columns: ["version"], rows: [["15.18"]]))
        #expect(families.first?.samples.first?.value == 1)
        #expect(families.first?.samples.first?.labels == [Label("version", "15.18")])
    }

    @Test func computedValuesAndRowFiltersSeeTheWholeRow() throws {
        var options = CollectorOptions()
        let query = MetricQuery(
            sql: "unused", labels: ["database"],
            metrics: [
                ColumnMetric("maxwait_seconds", .gauge, help: "h") { row in
                    guard let seconds = row.number("maxwait") else { return nil }
                    return seconds + (row.number("maxwait_us") ?? 0) / 1e6
                },
            ],
            keepRow: { row, options in options.includeAdminDatabase || row["database"] != "pgbouncer" })
        let result = QueryResult(
            columns: ["database", "maxwait", "maxwait_us"],
            rows: [["app", "1", "228454"], ["pgbouncer", "0", "5"], ["old", "2", nil]])
        #expect(try query.families(from: result, options: options).first?.samples.map(\.value) == [1.228454, 2])
        options.includeAdminDatabase = true
        #expect(try query.families(from: result, options: options).first?.samples.count == 3)
    }
}

/// A runner that counts the statements it is asked, answering each with one row.
final class CountingRunner: QueryRunner {
    let server = ServerInfo(versionNumber: 150018, versionText: "15.18")
    let options = CollectorOptions()
    let resultCache: QueryResultCache.Slot?
    private let count = Mutex(0)

    /// `cache`: where results are kept (`nil`: nowhere), under `key`.
    init(cache: QueryResultCache?, key: String = "connection") {
        resultCache = cache.map { QueryResultCache.Slot(cache: $0, key: key) }
    }

    /// Statements asked so far.
    var asked: Int { count.withLock { $0 } }

    func query(_ sql: String) async throws -> QueryResult {
        let asked = count.withLock { count in
            count += 1
            return count
        }
        return QueryResult(columns: ["datname", "size"], rows: [["app", String(asked)]])
    }
}

@Suite struct RefreshIntervalTests {
    private func collector(refresh: Duration?) -> Collector {
        Collector(name: "sizes", targetKind: .postgres, summary: "s", queries: [
            MetricQuery(sql: "SELECT size", labels: ["datname"],
                        metrics: [ColumnMetric("size_bytes", .gauge, column: "size", help: "h")],
                        refreshInterval: refresh),
        ])
    }

    @Test func aQueryWithARefreshIntervalIsAskedOnceWithinIt() async throws {
        let sizes = collector(refresh: .seconds(60))
        let cache = QueryResultCache()
        let runner = CountingRunner(cache: cache, key: "database a")
        let first = try await sizes.collect(from: runner)
        let second = try await sizes.collect(from: runner)
        #expect(runner.asked == 1)
        #expect(first[0].samples[0].value == 1)
        #expect(second[0].samples[0].value == 1)
        // Another connection of the same target has its own entry, and so has another target
        // (its own cache) even under the same key.
        let otherDatabase = CountingRunner(cache: cache, key: "database b")
        _ = try await sizes.collect(from: otherDatabase)
        #expect(otherDatabase.asked == 1)
        let otherTarget = CountingRunner(cache: QueryResultCache(), key: "database a")
        _ = try await sizes.collect(from: otherTarget)
        #expect(otherTarget.asked == 1)
    }

    @Test func withoutIntervalOrCacheEveryScrapeAsks() async throws {
        let always = collector(refresh: nil)
        let keyed = CountingRunner(cache: QueryResultCache())
        _ = try await always.collect(from: keyed)
        _ = try await always.collect(from: keyed)
        #expect(keyed.asked == 2)
        let cached = collector(refresh: .seconds(60))
        let anonymous = CountingRunner(cache: nil)
        _ = try await cached.collect(from: anonymous)
        _ = try await cached.collect(from: anonymous)
        #expect(anonymous.asked == 2)
    }

    @Test func anExpiredResultIsAskedAgain() async throws {
        let sizes = collector(refresh: .milliseconds(1))
        let runner = CountingRunner(cache: QueryResultCache())
        _ = try await sizes.collect(from: runner)
        try await Task.sleep(for: .milliseconds(5))
        let again = try await sizes.collect(from: runner)
        #expect(runner.asked == 2)
        #expect(again[0].samples[0].value == 2)
    }

    /// Privileges and extensions change rarely: a collector's requirement check is asked once
    /// per ``Collector/requirementsRecheck`` per server, its queries on every scrape.
    @Test func requirementsAreCheckedOncePerIntervalAndQueriesEveryScrape() async throws {
        let guarded = Collector(name: "guarded", targetKind: .postgres, summary: "s", queries: [
            MetricQuery(sql: "SELECT 1 AS size", metrics: [ColumnMetric("guarded_size", .gauge, column: "size", help: "h")],
                        requires: "has_function_privilege('pg_ls_waldir()', 'EXECUTE')"),
        ])
        let runner = RequirementRunner()
        for _ in 0..<3 {
            let families = try await guarded.collect(from: runner)
            #expect(families.first?.samples.first?.value == 1)
        }
        #expect(runner.asked == ["requirement": 1, "query": 3])
    }
}

/// Answers requirement checks with "true" and anything else with a size of 1, counting both.
final class RequirementRunner: QueryRunner {
    let server = ServerInfo(versionNumber: 150018, versionText: "15.18")
    let options = CollectorOptions()
    let resultCache: QueryResultCache.Slot? = QueryResultCache.Slot(cache: QueryResultCache(), key: "connection")
    private let counts = Mutex<[String: Int]>([:])

    var asked: [String: Int] { counts.withLock { $0 } }

    func query(_ sql: String) async throws -> QueryResult {
        let isCheck = sql.hasPrefix("SELECT (")
        counts.withLock { $0[isCheck ? "requirement" : "query", default: 0] += 1 }
        return isCheck ? QueryResult(columns: ["r0"], rows: [["t"]]) : QueryResult(columns: ["size"], rows: [["1"]])
    }
}
