import Exposition
import PostgresClient

/// `SHOW STATS_TOTALS`: cumulative traffic and time per database since PgBouncer started.
///
/// PgBouncer adds to these totals as each query and transaction ends (only the `SHOW STATS`
/// averages wait for `stats_period`). They are `numeric` from 1.12 on (`int8` before), because
/// they may pass the largest signed 64-bit value; they are read as text, so every unsigned
/// 64-bit value is kept. Times arrive in microseconds and are exported in seconds.
/// `server_assignment_count` appears in 1.23; the prepared-statement counters in 1.24.
/// PgBouncer before 1.8 has no `SHOW STATS_TOTALS`: the query is skipped there.
public let pgbouncerStatsCollector = Collector(
    name: "stats",
    targetKind: .pgbouncer,
    summary: "Traffic through the pooler per database (SHOW STATS_TOTALS): transactions, queries, bytes, time in transactions, queries and waits.",
    queries: [
        MetricQuery(
            [SQLVariant(from: 10800, "SHOW STATS_TOTALS")],
            labels: ["database"],
            metrics: [
                ColumnMetric(
                    "pgbouncer_stats_totals_sql_transactions_pooled_total", .counter, column: "xact_count",
                    help: "SQL transactions pooled: run through a server connection by PgBouncer (xact_count)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_queries_pooled_total", .counter, column: "query_count",
                    help: "SQL queries pooled: run through a server connection by PgBouncer (query_count)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_received_bytes_total", .counter, column: "bytes_received",
                    help: "Network bytes received from clients by PgBouncer (bytes_received)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_sent_bytes_total", .counter, column: "bytes_sent",
                    help: "Network bytes sent to clients by PgBouncer (bytes_sent)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_server_in_transaction_seconds_total", .counter, column: "xact_time", scale: microsecond,
                    help: "Seconds server connections spent linked to a client in a transaction, idle in transaction included (xact_time)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_queries_duration_seconds_total", .counter, column: "query_time", scale: microsecond,
                    help: "Seconds server connections spent running client queries (query_time)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_client_wait_seconds_total", .counter, column: "wait_time", scale: microsecond,
                    help: "Seconds clients spent waiting for a server connection, added when the wait ends (wait_time)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_server_assignments_total", .counter, column: "server_assignment_count",
                    help: "Times a server connection was assigned to a client (server_assignment_count, PgBouncer 1.23+)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_client_parses_total", .counter, column: "client_parse_count",
                    help: "Prepared statements created by clients and tracked by PgBouncer (client_parse_count, PgBouncer 1.24+)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_server_parses_total", .counter, column: "server_parse_count",
                    help: "Prepared statements PgBouncer created on server connections (server_parse_count, PgBouncer 1.24+)."),
                ColumnMetric(
                    "pgbouncer_stats_totals_binds_total", .counter, column: "bind_count",
                    help: "Prepared statements readied for execution by clients and forwarded by PgBouncer (bind_count, PgBouncer 1.24+)."),
            ],
            keepRow: AdminDatabase.filter(on: "database")),
    ])

/// PgBouncer's times are in microseconds.
private let microsecond = 1e-6
