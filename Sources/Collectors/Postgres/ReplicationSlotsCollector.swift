import Exposition
import PostgresClient

/// Replication slots: whether in use, how much WAL each holds back, and how safe that is.
///
/// Retained WAL is measured from the server's current position (on a standby, its last
/// received position) back to the slot's `restart_lsn`.
public let replicationSlotsCollector = Collector(
    name: "replication_slots",
    targetKind: .postgres,
    summary: "Replication slots (pg_replication_slots): active, retained WAL, wal_status, safe_wal_size, xmin ages, inactive since.",
    queries: [
        MetricQuery(
            [
                SQLVariant(slotsSQL(inactiveSince: "NULL::float8")),
                SQLVariant(from: 170000, slotsSQL(inactiveSince: "extract(epoch FROM s.inactive_since)")),
            ],
            labels: ["slot_name", "database"],
            metrics: [
                ColumnMetric(
                    "pg_replication_slots_active", .gauge, column: "active",
                    help: "1 if a process is using the slot, 0 if not (as postgres_exporter has it)."),
                ColumnMetric(
                    "pg_replication_slots_pg_wal_lsn_diff", .gauge, column: "retained_bytes",
                    help: "Bytes of WAL the slot holds back (current position minus restart_lsn), as postgres_exporter has it."),
                .oneHot(
                    "pg_replication_slots_wal_status", column: "wal_status", values: ["reserved", "extended", "unreserved", "lost"],
                    labels: ["slot_type"],
                    help: "Whether the WAL the slot needs is still there: 1 for the current wal_status, 0 for the others (lost: the slot is unusable)."),
                ColumnMetric(
                    "pg_replication_slots_safe_wal_size_bytes", .gauge, column: "safe_wal_size", labels: ["slot_type"],
                    help: "Bytes of WAL that can still be written before the slot is in danger of losing WAL (absent with no max_slot_wal_keep_size)."),
                ColumnMetric(
                    "pg_replication_slots_xmin_age_xids", .gauge, column: "xmin_age", labels: ["slot_type"],
                    help: "Age of the slot's xmin in transaction IDs: how far it holds back vacuum."),
                ColumnMetric(
                    "pg_replication_slots_catalog_xmin_age_xids", .gauge, column: "catalog_xmin_age", labels: ["slot_type"],
                    help: "Age of the slot's catalog_xmin in transaction IDs (logical slots)."),
                ColumnMetric(
                    "pg_replication_slots_inactive_since_timestamp_seconds", .gauge, column: "inactive_since", labels: ["slot_type"],
                    help: "When the slot became inactive, in seconds since the epoch (PostgreSQL 17+; absent while active)."),
            ]),
    ])

private func slotsSQL(inactiveSince: String) -> String {
    """
    WITH position AS (
        SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn)
    SELECT s.slot_name, s.slot_type, coalesce(s.database, '') AS database, s.active,
           pg_wal_lsn_diff(p.lsn, s.restart_lsn) AS retained_bytes,
           s.wal_status, s.safe_wal_size, age(s.xmin) AS xmin_age, age(s.catalog_xmin) AS catalog_xmin_age,
           \(inactiveSince) AS inactive_since
    FROM pg_replication_slots s CROSS JOIN position p
    ORDER BY s.slot_name
    """
}
