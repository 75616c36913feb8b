import Collectors
import Exporter
import Exposition
import Foundation
import PostgresClient
import Testing

/// postgres_exporter's queries.yaml and the config file's `custom_queries:`, read without a server.
@Suite struct CustomQueryFileTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples")

    private func expectError(_ text: String, line: Int, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try CustomQueriesFile.parse(text, file: "queries.yaml")
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let error as ConfigurationError {
            #expect(error.file == "queries.yaml" && error.line == line, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(mentioning), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    /// The metrics `text`'s only query makes from one row.
    private func families(_ text: String, columns: [String], row: [String?]) throws -> [MetricFamily] {
        let queries = try CustomQueriesFile.parse(text, file: "queries.yaml")
        try #require(queries.count == 1)
        return try queries[0].collector.queries[0].families(from: QueryResult(columns: columns, rows: [row]))
    }

    @Test func theExampleFileGivesPostgresExportersNames() throws {
        let queries = try CustomQueriesFile.load(path: Self.examples.appendingPathComponent("queries.yaml").path)
        #expect(queries.map(\.name) == ["pg_custom_database", "pg_custom_transactions", "pg_custom_oldest_transaction", "pg_custom_slots", "pg_custom_xlog"])
        let names = queries.flatMap { $0.collector.metrics.map(\.name) }
        #expect(names == [
            "pg_custom_database_xid_age", "pg_custom_database_size_bytes",
            "pg_custom_transactions_xact_commit", "pg_custom_transactions_xact_rollback",
            "pg_custom_oldest_transaction_age_milliseconds", "pg_custom_oldest_transaction_open", "pg_custom_oldest_transaction_newest_start",
            "pg_custom_slots_retained_bytes", "pg_custom_slots_active",
            "pg_custom_xlog_position_bytes",
        ])
        #expect(queries[0].collector.metrics[0].labels == ["datname"])
        #expect(queries[0].cache == .seconds(30))
        let xlog = queries[4].collector.queries[0]
        #expect(xlog.sql(forVersion: 90624) != nil)
        #expect(xlog.sql(forVersion: 150004) == nil, "runonserver <10.0.0 keeps it off PostgreSQL 15")
    }

    @Test func valuesAreReadAsPostgresExporterReadThem() throws {
        let text = """
            q:
              query: SELECT 1
              metrics:
                - kind: {usage: LABEL}
                - started: {usage: GAUGE}
                - flag: {usage: GAUGE}
                - day: {usage: COUNTER}
                - wait: {usage: DURATION}
                - state: {usage: MAPPEDMETRIC, metric_mapping: {streaming: 1, catchup: 2}}
                - junk: {usage: DISCARD}
            """
        let columns = ["kind", "started", "flag", "day", "wait", "state", "junk"]
        let got = try families(text, columns: columns, row: ["ä \"x\"", "2026-12-01 17:27:10.5+01", "t", "2026-12-01", "1m30.5s", "catchup", "zzz"])
        #expect(got.map(\.name) == ["q_started", "q_flag", "q_day", "q_wait_milliseconds", "q_state"])
        try #require(got.allSatisfy { $0.samples.count == 1 })
        #expect(got.map { $0.samples[0].value } == [1_796_142_430.5, 1, 1_796_083_200, 90_500, 2])
        #expect(got[0].samples[0].labels == [Label("kind", "ä \"x\"")])
        #expect(got[2].type == .counter && got[0].type == .gauge)
        let interval = try families(text, columns: columns, row: ["k", "nonsense", nil, "1999-13-01", "2 days 01:00:00.25", "lost", nil])
        #expect(interval.map { $0.samples.count } == [0, 0, 0, 1, 0], "unreadable, NULL and unmapped values give no sample")
        #expect(interval[3].samples.first?.value == 176_400_250)
        #expect(try families(text, columns: columns, row: ["k", nil, nil, nil, "-1", nil, nil])[3].samples.isEmpty, "-1 is no duration")
    }

    @Test func aResultWithoutADeclaredColumnFailsTheQueryNamingIt() throws {
        let queries = try CustomQueriesFile.parse("q:\n  query: SELECT 1 AS lag\n  metrics:\n    - lags: {usage: GAUGE}\n", file: "f")
        #expect {
            _ = try queries[0].collector.queries[0].families(from: QueryResult(columns: ["lag"], rows: [["1"]]))
        } throws: { error in
            "\(error)".contains("no column \"lags\"") && "\(error)".contains("\"lag\"")
        }
    }

    @Test func badFilesNameTheLineAndTheProblem() {
        expectError("q:\n  query: SELECT 1\n  metrics:\n    - a: {usage: HISTOGRAM}\n", line: 4, mentioning: "HISTOGRAM columns are not supported")
        expectError("q:\n  query: SELECT 1\n  metrics:\n    - a: {usage: gauge, colour: red}\n", line: 4, mentioning: "unknown setting")
        expectError("q:\n  metrics:\n    - a: {usage: GAUGE}\n", line: 2, mentioning: "q.query: missing")
        expectError("q:\n  query: SELECT 1\n  runonserver: '>=ten'\n  metrics:\n    - a: {usage: GAUGE}\n", line: 3, mentioning: "not a comparison")
        expectError("q:\n  query: SELECT 1\n  metrics:\n    - target: {usage: LABEL}\n    - a: {usage: GAUGE}\n", line: 4, mentioning: "cannot be a label")
        expectError("q:\n  query: SELECT 1\n  metrics:\n    - a: {usage: LABEL}\n", line: 4, mentioning: "no column that becomes a metric")
        expectError("q:\n  query: SELECT 1\n  metrics:\n    - a-b: {usage: GAUGE}\n", line: 4, mentioning: "rename the column with AS")
        expectError("wal:\n  query: SELECT 1\n  metrics:\n    - a: {usage: GAUGE}\n", line: 1, mentioning: "built-in collector")
        expectError("q:\n  query: SELECT 1\n  cache_seconds: -5\n  metrics:\n    - a: {usage: GAUGE}\n", line: 3, mentioning: "cache_seconds")
        expectError("q:\n  query: ''\n  metrics:\n    - a: {usage: GAUGE}\n", line: 2, mentioning: "is empty")
        expectError("q:\n  query: SELECT 1\n  metrics:\n    - a: {usage: GAUGE}\n    - a: {usage: COUNTER}\n", line: 5, mentioning: "listed twice")
        expectError("p_a:\n  query: SELECT 1\n  metrics:\n    - b: {usage: GAUGE}\np:\n  query: SELECT 1\n  metrics:\n    - a_b: {usage: GAUGE}\n",
                    line: 5, mentioning: "makes the metric p_a_b")
        expectError("q:\n  query: SELECT 1\n  metrics:\n    - a: {usage: MAPPEDMETRIC, metric_mapping: {x: .nan}}\n", line: 4, mentioning: "finite number")
        expectError("- just a list\n", line: 1, mentioning: "must be a mapping")
        expectError("q:\n  query: [unclosed\n", line: 3, mentioning: "YAML")
    }

    @Test func versionRangesReadAsRunonserverWritesThem() throws {
        let range = try ServerVersionRange(">=10.0.0 <12.0.0 || >=15")
        #expect([100000, 110015, 150004, 180001].map(range.contains) == [true, true, true, true])
        #expect([90624, 120000, 140010].map(range.contains) == [false, false, false])
        #expect(try ServerVersionRange("9.6").contains(90600))
        for bad in ["", "   ", ">=", "15..1", ">=1e3", "≥15", "|| >=15", ">=15 ||", "+15", "100", String(repeating: ">=15 ", count: 50)] {
            #expect(throws: ServerVersionRange.Problem.self, "\(bad)") { try ServerVersionRange(bad) }
        }
    }

    @Test func theConfigFileTakesQueriesPerVersionScopeCacheAndTimeout() throws {
        setenv("PRIMARY_DSN", "host=127.0.0.1 dbname=postgres user=monitor", 1)
        let path = Self.examples.appendingPathComponent("custom-queries.yml").path
        var base = ExporterConfiguration(targets: [])
        base.customQueries = try CustomQueriesFile.parse("pg_custom_tables:\n  query: SELECT 1 AS n\n  metrics:\n    - n: {usage: GAUGE}\n", file: "q")
        let configuration = try ConfigurationFile.load(path: path, base: base, baseLimits: TargetLimits())
        let custom = configuration.targets[0].collectors.filter { $0.summary.hasPrefix("Custom query") }
        #expect(custom.map(\.name) == ["pg_custom_checkpoints", "pg_custom_tables", "pg_custom_archive_ready"], "the file's pg_custom_tables replaces queries.yaml's")
        let checkpoints = custom[0].queries[0]
        #expect(checkpoints.sql(forVersion: 150004)?.contains("pg_stat_bgwriter") == true)
        #expect(checkpoints.sql(forVersion: 170000)?.contains("pg_stat_checkpointer") == true)
        let tables = custom[1]
        #expect(tables.scope == .database && tables.timeout == .seconds(2) && tables.queries[0].refreshInterval == .seconds(60))
        #expect(tables.queries[0].sql(forVersion: 120000) == nil)
        #expect(tables.queries[0].sql(forVersion: 150000)?.hasPrefix("SELECT current_database() AS datname, q.* FROM (") == true)
        #expect(tables.metrics.map(\.labels) == [["datname"], ["datname"]])
    }

    @Test func customQueriesRunOnlyOnPostgresTargets() {
        let text = """
            targets:
              - name: bouncer
                kind: pgbouncer
                dsn: "host=127.0.0.1 dbname=pgbouncer user=u"
                custom_queries:
                  - name: q
                    query: SHOW POOLS
                    metrics: [{cl_active: {usage: GAUGE}}]
            """
        #expect {
            try ConfigurationFile.parse(text, file: "c.yml", base: ExporterConfiguration(targets: []), baseLimits: TargetLimits())
        } throws: { error in
            (error as? ConfigurationError)?.line == 6 && "\(error)".contains("PostgreSQL targets only")
        }
    }
}
