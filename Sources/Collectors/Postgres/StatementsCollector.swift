import Exposition
import PostgresClient

/// Query statistics from `pg_stat_statements`, bounded whatever the statement churn.
///
/// Always: totals per database and user (so throughput and mean latency never need a per-query
/// series) and a count of slow statements. Then the top N statements by total execution time,
/// labelled by `queryid`; their text only on request, in a separate `_info` series. Reads with
/// `pg_stat_statements(false)`, which skips loading query texts, unless text is wanted.
///
/// Without the extension in the connected database the collector reports
/// `pg_stat_statements_available 0` and succeeds, rather than failing every scrape.
public let statementsCollector = Collector(
    name: "statements",
    targetKind: .postgres,
    summary: "pg_stat_statements: totals per database and user, slow-statement count, top N statements by time (text opt-in).",
    queries: [availableQuery, totalsQuery, topQuery, infoQuery, textQuery])

/// The extension's presence, which every other query of the collector requires.
private let installed = "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')"
/// The top statements need every role's query IDs (other roles' are NULL without
/// `pg_read_all_stats`): without them the top N would be the role's own, shown as the whole.
private let installedAndAllVisible = "(\(installed)) AND \(readsAllStatistics)"

private let availableQuery = MetricQuery(
    sql: "SELECT (\(installed))::int AS available",
    metrics: [
        ColumnMetric(
            "pg_stat_statements_available", .gauge, column: "available",
            help: "1 if the pg_stat_statements extension is installed in the connected database, 0 if not (then no other pg_stat_statements metric); checked at most once a minute."),
    ],
    refreshInterval: Collector.requirementsRecheck)

/// The column names pg_stat_statements uses before and after PostgreSQL 13 and 17.
private struct StatementColumns {
    let execTime: String
    let planTime: String
    let walBytes: String
    let blockReadTime: String
    let blockWriteTime: String

    static let before13 = StatementColumns(
        execTime: "total_time", planTime: "NULL::float8", walBytes: "NULL::numeric",
        blockReadTime: "blk_read_time", blockWriteTime: "blk_write_time")
    static let from13 = StatementColumns(
        execTime: "total_exec_time", planTime: "total_plan_time", walBytes: "wal_bytes",
        blockReadTime: "blk_read_time", blockWriteTime: "blk_write_time")
    static let from17 = StatementColumns(
        execTime: "total_exec_time", planTime: "total_plan_time", walBytes: "wal_bytes",
        blockReadTime: "shared_blk_read_time", blockWriteTime: "shared_blk_write_time")

    /// One SQL variant per column naming, from `make`.
    static func variants(_ make: (StatementColumns) -> String) -> [SQLVariant] {
        [SQLVariant(make(before13)), SQLVariant(from: 130000, make(from13)), SQLVariant(from: 170000, make(from17))]
    }
}

private let statementsFrom = """
    FROM pg_stat_statements(false) s
    JOIN pg_database d ON d.oid = s.dbid
    LEFT JOIN pg_roles r ON r.oid = s.userid
    """

private let totalsQuery = MetricQuery(
    options: { options in
        let slowMilliseconds = options.statementsSlowThreshold * 1000
        return StatementColumns.variants { c in
            """
            SELECT d.datname, coalesce(r.rolname, s.userid::text) AS usename,
                   sum(s.calls) AS calls, sum(s.\(c.execTime)) / 1000 AS exec_seconds,
                   sum(s.\(c.planTime)) / 1000 AS plan_seconds, sum(s.rows) AS rows,
                   sum(s.shared_blks_hit) AS shared_blks_hit, sum(s.shared_blks_read) AS shared_blks_read,
                   sum(s.temp_blks_written) AS temp_blks_written, sum(s.\(c.walBytes)) AS wal_bytes,
                   count(*) FILTER (WHERE s.\(c.execTime) / nullif(s.calls, 0) > \(slowMilliseconds)) AS slow
            \(statementsFrom)
            GROUP BY 1, 2 ORDER BY 1, 2
            """
        }
    },
    labels: ["datname", "usename"],
    metrics: [
        ColumnMetric("pg_stat_statements_database_calls_total", .counter, column: "calls", help: "Statement executions, all statements of this database and user."),
        ColumnMetric("pg_stat_statements_database_exec_seconds_total", .counter, column: "exec_seconds", help: "Time spent executing statements of this database and user, in seconds."),
        ColumnMetric("pg_stat_statements_database_plan_seconds_total", .counter, column: "plan_seconds", help: "Time spent planning statements of this database and user, in seconds (0 unless pg_stat_statements.track_planning; PostgreSQL 13+)."),
        ColumnMetric("pg_stat_statements_database_rows_total", .counter, column: "rows", help: "Rows returned or affected by statements of this database and user."),
        ColumnMetric("pg_stat_statements_database_shared_blocks_hit_total", .counter, column: "shared_blks_hit", help: "Shared buffer hits by statements of this database and user."),
        ColumnMetric("pg_stat_statements_database_shared_blocks_read_total", .counter, column: "shared_blks_read", help: "Shared blocks read from disk or OS cache by statements of this database and user."),
        ColumnMetric("pg_stat_statements_database_temp_blocks_written_total", .counter, column: "temp_blks_written", help: "Temporary blocks written by statements of this database and user (sorts and hashes spilling to disk)."),
        ColumnMetric("pg_stat_statements_database_wal_bytes_total", .counter, column: "wal_bytes", help: "WAL generated by statements of this database and user, in bytes (PostgreSQL 13+)."),
        ColumnMetric("pg_stat_statements_slow_statements", .gauge, column: "slow", help: "Statements of this database and user whose mean execution time is above the slow threshold (statements_slow_threshold, default 100 ms)."),
    ],
    requires: installed)

private let topQuery = MetricQuery(
    options: { options in
        StatementColumns.variants { c in
            """
            SELECT s.queryid::text AS queryid, d.datname, coalesce(r.rolname, s.userid::text) AS usename,
                   sum(s.calls) AS calls, sum(s.\(c.execTime)) / 1000 AS exec_seconds, sum(s.rows) AS rows,
                   sum(s.\(c.execTime)) / nullif(sum(s.calls), 0) / 1000 AS mean_seconds,
                   sum(s.\(c.blockReadTime)) / 1000 AS block_read_seconds,
                   sum(s.\(c.blockWriteTime)) / 1000 AS block_write_seconds
            \(statementsFrom)
            WHERE s.queryid IS NOT NULL
            GROUP BY 1, 2, 3
            ORDER BY exec_seconds DESC, 1
            LIMIT \(options.statementsTopN)
            """
        }
    },
    labels: ["queryid", "datname", "usename"],
    metrics: [
        ColumnMetric("pg_stat_statements_calls_total", .counter, column: "calls", help: "Executions of this statement (top N by total time)."),
        ColumnMetric("pg_stat_statements_seconds_total", .counter, column: "exec_seconds", help: "Time spent executing this statement, in seconds (planning excluded; top N by total time)."),
        ColumnMetric("pg_stat_statements_rows_total", .counter, column: "rows", help: "Rows returned or affected by this statement (top N by total time)."),
        ColumnMetric("pg_stat_statements_mean_seconds", .gauge, column: "mean_seconds", help: "Mean execution time of this statement, in seconds (top N by total time)."),
        ColumnMetric("pg_stat_statements_block_read_seconds_total", .counter, column: "block_read_seconds", help: "Time this statement spent reading blocks, in seconds (0 unless track_io_timing; top N)."),
        ColumnMetric("pg_stat_statements_block_write_seconds_total", .counter, column: "block_write_seconds", help: "Time this statement spent writing blocks, in seconds (0 unless track_io_timing; top N)."),
    ],
    requires: installedAndAllVisible)

private let infoQuery = MetricQuery(
    [SQLVariant(from: 140000, "SELECT dealloc, extract(epoch FROM stats_reset) AS stats_reset FROM pg_stat_statements_info")],
    metrics: [
        ColumnMetric("pg_stat_statements_deallocations_total", .counter, column: "dealloc", help: "Times statements were evicted because pg_stat_statements.max was reached (PostgreSQL 14+); rising means statistics are being lost."),
        ColumnMetric("pg_stat_statements_stats_reset_timestamp_seconds", .gauge, column: "stats_reset", help: "When pg_stat_statements was last reset, in seconds since the epoch (PostgreSQL 14+)."),
    ],
    requires: installed)

private let textQuery = MetricQuery(
    options: { options in
        guard options.statementsIncludeQuery else { return [] }
        let (limit, length) = (options.statementsTopN, options.statementsQueryLength)
        return StatementColumns.variants { c in
            """
            SELECT DISTINCT ON (s.queryid, d.datname, usename)
                   s.queryid::text AS queryid, d.datname, coalesce(r.rolname, s.userid::text) AS usename,
                   CASE WHEN s.query ~* '(password|passwd|secret)' THEN '(not shown: the text mentions a password)'
                        ELSE left(regexp_replace(s.query, '\\s+', ' ', 'g'), \(length)) END AS query
            FROM pg_stat_statements(true) s
            JOIN pg_database d ON d.oid = s.dbid
            LEFT JOIN pg_roles r ON r.oid = s.userid
            WHERE (s.queryid, s.dbid, s.userid) IN (
                SELECT queryid, dbid, userid FROM pg_stat_statements(false) WHERE queryid IS NOT NULL
                GROUP BY 1, 2, 3 ORDER BY sum(\(c.execTime)) DESC LIMIT \(limit))
            ORDER BY s.queryid, d.datname, usename
            """
        }
    },
    labels: ["queryid", "datname", "usename"],
    metrics: [
        .info("pg_stat_statements_query_info", labels: ["query"], help: "A top statement's text, whitespace folded and truncated to statements_query_length (not shown when it mentions a password); value 1. Only with statements_include_query."),
    ],
    requires: installedAndAllVisible)
