import Exposition
import PostgresClient

/// Replication slots: whether in use, how much WAL each holds back, and how safe that is; for
/// logical slots, how far their consumer has confirmed and what decoding cost
/// (`pg_stat_replication_slots`, PostgreSQL 14+).
///
/// Retained WAL and confirmed-flush lag are measured from the server's current position (on a
/// standby, its last received position) back to the slot's `restart_lsn` and
/// `confirmed_flush_lsn`.
public let replicationSlotsCollector = Collector(
    name: "replication_slots",
    targetKind: .postgres,
    summary: "Replication slots (pg_replication_slots): active, retained WAL, wal_status, safe_wal_size, xmin ages, inactive since, logical slots' confirmed-flush lag; pg_stat_replication_slots (14+): spilled, streamed and decoded transactions.",
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
                ColumnMetric(
                    "pg_replication_slots_confirmed_flush_lag_bytes", .gauge, column: "confirmed_flush_lag",
                    help: "Logical slots: bytes of WAL between the current position and the slot's confirmed_flush_lsn, i.e. what its subscriber has yet to confirm (grows while the subscription is down)."),
            ]),
        MetricQuery(
            [SQLVariant(from: 140000, "SELECT * FROM pg_stat_replication_slots ORDER BY slot_name")],
            labels: ["slot_name"],
            metrics: [
                ColumnMetric(
                    "pg_stat_replication_slots_spill_txns_total", .counter, column: "spill_txns",
                    help: "Transactions spilled to disk because decoding them took more than logical_decoding_work_mem (pg_stat_replication_slots, PostgreSQL 14+)."),
                ColumnMetric(
                    "pg_stat_replication_slots_spill_count_total", .counter, column: "spill_count",
                    help: "Times transactions were spilled to disk (a transaction may spill several times)."),
                ColumnMetric(
                    "pg_stat_replication_slots_spill_bytes_total", .counter, column: "spill_bytes",
                    help: "Decoded transaction data spilled to disk, in bytes."),
                ColumnMetric(
                    "pg_stat_replication_slots_stream_txns_total", .counter, column: "stream_txns",
                    help: "In-progress transactions streamed to the output plugin (a subscription with streaming on) instead of spilled."),
                ColumnMetric(
                    "pg_stat_replication_slots_stream_count_total", .counter, column: "stream_count",
                    help: "Times in-progress transactions were streamed (a transaction may be streamed several times)."),
                ColumnMetric(
                    "pg_stat_replication_slots_stream_bytes_total", .counter, column: "stream_bytes",
                    help: "Decoded transaction data streamed, in bytes."),
                ColumnMetric(
                    "pg_stat_replication_slots_decoded_txns_total", .counter, column: "total_txns",
                    help: "Decoded transactions sent to the output plugin (total_txns)."),
                ColumnMetric(
                    "pg_stat_replication_slots_decoded_bytes_total", .counter, column: "total_bytes",
                    help: "Decoded transaction data sent to the output plugin, in bytes (total_bytes)."),
            ]),
    ])

private func slotsSQL(inactiveSince: String) -> String {
    """
    WITH position AS (
        SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn)
    SELECT s.slot_name, s.slot_type, coalesce(s.database, '') AS database, s.active,
           pg_wal_lsn_diff(p.lsn, s.restart_lsn) AS retained_bytes,
           pg_wal_lsn_diff(p.lsn, s.confirmed_flush_lsn) AS confirmed_flush_lag,
           s.wal_status, s.safe_wal_size, age(s.xmin) AS xmin_age, age(s.catalog_xmin) AS catalog_xmin_age,
           \(inactiveSince) AS inactive_since
    FROM pg_replication_slots s CROSS JOIN position p
    ORDER BY s.slot_name
    """
}
