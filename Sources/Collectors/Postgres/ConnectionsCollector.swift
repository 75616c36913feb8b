import Exposition
import PostgresClient

/// Client sessions (`pg_stat_activity`) and the server's connection limits.
///
/// Every (database, state) pair is reported, zero included, so a series never vanishes when
/// its last session ends. Backends with no database (background workers, WAL senders) or no
/// state are counted only by `backend_type`. The exporter's own session is left out. Counting
/// by user, application or wait event is opt-in (``CollectorOptions/activityLabels``), since
/// those values are unbounded. Sessions by state and their ages need `pg_read_all_stats`
/// (other roles' rows have no state or times without it): absent rather than partial.
public let connectionsCollector = Collector(
    name: "connections",
    targetKind: .postgres,
    summary: "Client sessions per database and state (pg_stat_activity), oldest transaction and query ages, lock waits, backends by type, and the connection limits.",
    queries: [statesQuery, agesQuery, backendsQuery, limitsQuery, sessionsByColumnsQuery])

/// Sessions counted by the chosen extra columns, largest groups first, capped; only with
/// ``CollectorOptions/activityLabels``.
private let sessionsByColumnsQuery = MetricQuery(
    options: { options in
        guard !options.activityLabels.isEmpty else { return [] }
        let columns = options.activityLabels.map(\.rawValue)
        let selected = columns.map { "coalesce(\($0), '') AS \($0)" }.joined(separator: ", ")
        let grouping = (3...(2 + columns.count)).map(String.init).joined(separator: ", ")
        return [SQLVariant("""
            SELECT datname, state, \(selected), count(*) AS count
            FROM pg_stat_activity
            WHERE datname IS NOT NULL AND state IS NOT NULL AND pid <> pg_backend_pid()
            GROUP BY 1, 2, \(grouping)
            ORDER BY count(*) DESC, 1, 2
            LIMIT \(options.activityLabelsLimit)
            """)]
    },
    labels: ["datname", "state"],
    optionLabels: { options in options.activityLabels.map(\.rawValue) },
    metrics: [
        ColumnMetric(
            "pg_stat_activity_sessions", .gauge, column: "count",
            help: "Client sessions per database, state and the configured extra columns (largest groups, up to activity_labels_limit). Only with the activity_labels option."),
    ],
    requires: readsAllStatistics)

private let statesQuery = MetricQuery(
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
    ],
    requires: readsAllStatistics)

private let agesQuery = MetricQuery(
    sql: """
        WITH a AS (
            -- pg_stat_activity read once, then joined: joined directly, it was read once per
            -- database (3 ms a scrape with 23 databases and 50 sessions).
            SELECT datname,
                   max(extract(epoch FROM clock_timestamp() - xact_start)) AS oldest_xact_age,
                   max(extract(epoch FROM clock_timestamp() - query_start)) FILTER (WHERE state = 'active') AS oldest_query_age,
                   max(extract(epoch FROM clock_timestamp() - state_change))
                       FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_transaction_age,
                   count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_lock
            FROM pg_stat_activity
            WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
            GROUP BY datname)
        SELECT d.datname,
               coalesce(a.oldest_xact_age, 0) AS oldest_xact_age,
               coalesce(a.oldest_query_age, 0) AS oldest_query_age,
               coalesce(a.idle_in_transaction_age, 0) AS idle_in_transaction_age,
               coalesce(a.waiting_on_lock, 0) AS waiting_on_lock
        FROM pg_database d
        LEFT JOIN a ON a.datname = d.datname
        WHERE NOT d.datistemplate
        ORDER BY d.datname
        """,
    labels: ["datname"],
    metrics: [
        ColumnMetric(
            "pg_stat_activity_oldest_xact_age_seconds", .gauge, column: "oldest_xact_age",
            help: "Age of the oldest open transaction in the database, in seconds (0 if none)."),
        ColumnMetric(
            "pg_stat_activity_oldest_query_age_seconds", .gauge, column: "oldest_query_age",
            help: "How long the longest-running active query in the database has run, in seconds (0 if none)."),
        ColumnMetric(
            "pg_stat_activity_idle_in_transaction_max_age_seconds", .gauge, column: "idle_in_transaction_age",
            help: "Longest time a session in the database has sat idle inside a transaction, in seconds (0 if none)."),
        ColumnMetric(
            "pg_stat_activity_waiting_on_lock", .gauge, column: "waiting_on_lock",
            help: "Client sessions in the database waiting for a lock."),
    ],
    requires: readsAllStatistics)

private let backendsQuery = MetricQuery(
    sql: """
        SELECT coalesce(backend_type, '') AS backend_type, count(*) AS count
        FROM pg_stat_activity GROUP BY 1 ORDER BY 1
        """,
    labels: ["backend_type"],
    metrics: [
        ColumnMetric("pg_stat_activity_backends", .gauge, column: "count", help: "Server processes by backend_type (client backends, WAL senders, autovacuum workers, …)."),
    ])

/// The limits every supported version has; PostgreSQL 16 adds `reserved_connections`.
private func limitsSQL(reserved: String) -> String {
    """
    SELECT current_setting('max_connections') AS max_connections,
           current_setting('superuser_reserved_connections') AS superuser_reserved_connections,
           \(reserved) AS reserved_connections,
           (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8
               / nullif(current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                        - coalesce(\(reserved)::int, 0), 0) AS used_ratio
    """
}

private let limitsQuery = MetricQuery(
    [
        SQLVariant(limitsSQL(reserved: "NULL")),
        SQLVariant(from: 160000, limitsSQL(reserved: "current_setting('reserved_connections')")),
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
        ColumnMetric(
            "pg_connections_used_ratio", .gauge, column: "used_ratio",
            help: "Client backends divided by the connections open to ordinary roles (max_connections less the reserved slots); 1 means new logins are refused."),
    ])
