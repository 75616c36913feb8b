import Exposition
import PostgresClient

/// Connection states from `pg_stat_activity`, and the server's connection limits.
///
/// Every (database, state) pair is reported, zero included, so a series never vanishes when
/// its last session ends. Backends with no database (background workers, WAL senders) or no
/// state are not counted here. The exporter's own session is left out.
public let connectionsCollector = QueryCollector(
    name: "connections",
    targetKind: .postgres,
    summary: "Client sessions per database and state (pg_stat_activity), and the connection limits.",
    queries: [
        MetricQuery(
            sql: """
                WITH activity AS (
                    SELECT datname, state, count(*) AS count,
                           coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) AS max_tx_duration
                    FROM pg_stat_activity
                    WHERE datname IS NOT NULL AND state IS NOT NULL AND pid <> pg_backend_pid()
                    GROUP BY datname, state),
                databases AS (
                    SELECT datname FROM pg_database WHERE NOT datistemplate
                    UNION SELECT datname FROM activity),
                states AS (
                    SELECT unnest(ARRAY['active', 'idle', 'idle in transaction',
                                        'idle in transaction (aborted)', 'fastpath function call',
                                        'disabled']) AS state
                    UNION SELECT state FROM activity)
                SELECT d.datname, s.state,
                       coalesce(a.count, 0) AS count,
                       coalesce(a.max_tx_duration, 0) AS max_tx_duration
                FROM databases d CROSS JOIN states s
                LEFT JOIN activity a ON a.datname = d.datname AND a.state = s.state
                ORDER BY 1, 2
                """,
            labels: ["datname", "state"],
            metrics: [
                ColumnMetric(
                    "pg_stat_activity_count", .gauge, column: "count",
                    help: "Number of client sessions in this database and state (pg_stat_activity; the exporter's own session excluded)."),
                ColumnMetric(
                    "pg_stat_activity_max_tx_duration", .gauge, column: "max_tx_duration",
                    help: "Age in seconds of the oldest open transaction among sessions in this database and state (0 if none)."),
            ]),
        MetricQuery(
            [
                SQLVariant(limitsSQL),
                SQLVariant(from: 160000, limitsSQL + ", current_setting('reserved_connections') AS reserved_connections"),
            ],
            metrics: [
                ColumnMetric(
                    "pg_settings_max_connections", .gauge, column: "max_connections",
                    help: "Server setting max_connections: the most concurrent connections allowed."),
                ColumnMetric(
                    "pg_settings_superuser_reserved_connections", .gauge, column: "superuser_reserved_connections",
                    help: "Server setting superuser_reserved_connections: slots kept for superusers."),
                ColumnMetric(
                    "pg_settings_reserved_connections", .gauge, column: "reserved_connections",
                    help: "Server setting reserved_connections (PostgreSQL 16+): slots kept for roles with pg_use_reserved_connections."),
            ]),
    ])

/// The limits every supported version has; PostgreSQL 16 adds `reserved_connections`.
private let limitsSQL = """
    SELECT current_setting('max_connections') AS max_connections,
           current_setting('superuser_reserved_connections') AS superuser_reserved_connections
    """
