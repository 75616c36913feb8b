import Exposition
import PostgresClient

/// The kinds of logical-replication worker PostgreSQL 17 names in `pg_stat_subscription.worker_type`.
let subscriptionWorkerTypes = ["apply", "parallel apply", "table synchronization"]

/// A subscriber's subscriptions: each one's apply worker (`pg_stat_subscription`), whether it is
/// enabled (`pg_subscription`), its workers by type, and its error and conflict counters
/// (`pg_stat_subscription_stats`). On a server without subscriptions it gives no series.
///
/// Series are per subscription, never per worker: table synchronization and parallel apply
/// workers come and go (one per table being copied), so they are only counted. Of
/// `pg_subscription` it reads only columns every role may read: `subconninfo` holds the
/// publisher's connection string, password included, and is never asked for.
public let subscriptionCollector = Collector(
    name: "subscription",
    targetKind: .postgres,
    summary: "Logical-replication subscriptions (pg_stat_subscription, pg_subscription, pg_stat_subscription_stats 15+): apply worker up, enabled, positions, lag, message ages, workers by type, errors, conflicts (18+).",
    queries: [
        MetricQuery(
            workerVariants(subscriptionsSQL),
            labels: ["datname", "subname"],
            metrics: [
                ColumnMetric(
                    "pg_stat_subscription_enabled", .gauge, column: "subenabled",
                    help: "1 if the subscription is enabled (pg_subscription.subenabled), 0 if disabled."),
                ColumnMetric(
                    "pg_stat_subscription_worker_up", .gauge, column: "worker_up",
                    help: "1 if the subscription's apply worker runs (pg_stat_subscription.pid is set), 0 if not: an enabled subscription with 0 replicates nothing."),
                ColumnMetric(
                    "pg_stat_subscription_received_lsn_bytes", .gauge, column: "received_lsn",
                    help: "The last WAL position the apply worker received from the publisher, in bytes (absent while no worker runs)."),
                ColumnMetric(
                    "pg_stat_subscription_latest_end_lsn_bytes", .gauge, column: "latest_end_lsn",
                    help: "The publisher's WAL end position as its last keepalive reported it, in bytes (absent while no worker runs)."),
                ColumnMetric(
                    "pg_stat_subscription_received_lag_bytes", .gauge, column: "received_lag",
                    help: "received_lsn minus latest_end_lsn: WAL received since the publisher last reported its end. How far the subscriber is behind is measured on the publisher: pg_replication_slots_confirmed_flush_lag_bytes."),
                ColumnMetric(
                    "pg_stat_subscription_last_msg_receipt_age_seconds", .gauge, column: "last_msg_receipt_age",
                    help: "Seconds since the apply worker last received a message from the publisher (keepalives included: a silent publisher makes it grow)."),
                ColumnMetric(
                    "pg_stat_subscription_latest_end_age_seconds", .gauge, column: "latest_end_age",
                    help: "Seconds since the publisher sent the last WAL end position the apply worker got (latest_end_time)."),
            ]),
        MetricQuery(
            workerVariants(workersSQL),
            labels: ["datname", "subname", "worker_type"],
            metrics: [
                ColumnMetric(
                    "pg_stat_subscription_workers", .gauge, column: "workers",
                    help: "Running workers of the subscription by worker_type: apply, parallel apply (16+) and table synchronization (while tables are copied); 0 included."),
            ]),
        MetricQuery(
            [SQLVariant(from: 150000, """
                SELECT d.datname, st.*
                FROM pg_stat_subscription_stats st
                JOIN pg_subscription s ON s.oid = st.subid
                LEFT JOIN pg_database d ON d.oid = s.subdbid
                ORDER BY d.datname, st.subname
                """)],
            labels: ["datname", "subname"],
            metrics: [
                ColumnMetric(
                    "pg_stat_subscription_apply_errors_total", .counter, column: "apply_error_count",
                    help: "Errors while applying changes (pg_stat_subscription_stats.apply_error_count, PostgreSQL 15+)."),
                ColumnMetric(
                    "pg_stat_subscription_sync_errors_total", .counter, column: "sync_error_count",
                    help: "Errors during the initial copy of a table (pg_stat_subscription_stats.sync_error_count, PostgreSQL 15+)."),
            ]),
        MetricQuery(
            // Every confl_* column by name, so a conflict a later release adds needs no change.
            [SQLVariant(from: 180000, """
                SELECT d.datname, st.subname, substr(c.key, 7) AS conflict, c.value AS conflicts
                FROM pg_stat_subscription_stats st
                JOIN pg_subscription s ON s.oid = st.subid
                LEFT JOIN pg_database d ON d.oid = s.subdbid
                CROSS JOIN LATERAL jsonb_each_text(to_jsonb(st)) c
                WHERE c.key LIKE 'confl\\_%'
                ORDER BY d.datname, st.subname, conflict
                """)],
            labels: ["datname", "subname", "conflict"],
            metrics: [
                ColumnMetric(
                    "pg_stat_subscription_conflicts_total", .counter, column: "conflicts",
                    help: "Conflicts met while applying changes, by conflict: insert_exists, update_missing, delete_missing, … (the confl_* columns of pg_stat_subscription_stats, PostgreSQL 18+)."),
            ]),
    ])

/// The SQL `sql` makes with the expression that gives a `pg_stat_subscription` row's worker
/// type (`w`): a column from PostgreSQL 17, told from `relid` and (16) `leader_pid` before.
private func workerVariants(_ sql: (String) -> String) -> [SQLVariant] {
    [
        SQLVariant(sql("CASE WHEN w.relid IS NULL THEN 'apply' ELSE 'table synchronization' END")),
        SQLVariant(from: 160000, sql("""
            CASE WHEN w.relid IS NOT NULL THEN 'table synchronization'
                 WHEN w.leader_pid IS NOT NULL THEN 'parallel apply' ELSE 'apply' END
            """)),
        SQLVariant(from: 170000, sql("w.worker_type")),
    ]
}

/// One row per subscription with its apply worker's row, if one runs.
private func subscriptionsSQL(workerType: String) -> String {
    """
    SELECT d.datname, s.subname, s.subenabled, (w.pid IS NOT NULL)::int AS worker_up,
           pg_wal_lsn_diff(w.received_lsn, '0/0') AS received_lsn,
           pg_wal_lsn_diff(w.latest_end_lsn, '0/0') AS latest_end_lsn,
           pg_wal_lsn_diff(w.received_lsn, w.latest_end_lsn) AS received_lag,
           extract(epoch FROM clock_timestamp() - w.last_msg_receipt_time) AS last_msg_receipt_age,
           extract(epoch FROM clock_timestamp() - w.latest_end_time) AS latest_end_age
    FROM pg_subscription s
    LEFT JOIN pg_database d ON d.oid = s.subdbid
    LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.pid IS NOT NULL AND \(workerType) = 'apply'
    ORDER BY d.datname, s.subname
    """
}

/// Per subscription, the running workers of each type (0 included).
private func workersSQL(workerType: String) -> String {
    """
    SELECT d.datname, s.subname, t.worker_type, count(w.pid) AS workers
    FROM pg_subscription s
    LEFT JOIN pg_database d ON d.oid = s.subdbid
    CROSS JOIN unnest(ARRAY['\(subscriptionWorkerTypes.joined(separator: "', '"))']) AS t(worker_type)
    LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.pid IS NOT NULL AND \(workerType) = t.worker_type
    GROUP BY d.datname, s.subname, t.worker_type
    ORDER BY d.datname, s.subname, t.worker_type
    """
}
