import Exposition
import PostgresClient

/// WAL generation: the current WAL position (its rate is the WAL written per second),
/// `pg_stat_wal` (PostgreSQL 14+), and the size of the WAL directory when the role may list it.
public let walCollector = Collector(
    name: "wal",
    targetKind: .postgres,
    summary: "WAL position (rate = generation), pg_stat_wal (14+), WAL directory size (when pg_ls_waldir is granted).",
    queries: [
        MetricQuery(
            sql: "SELECT CASE WHEN NOT pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END AS current_lsn",
            metrics: [
                ColumnMetric(
                    "pg_wal_current_lsn_bytes", .gauge, column: "current_lsn",
                    help: "The primary's current WAL write position in bytes; its rate is WAL generated per second (absent on a standby)."),
            ]),
        MetricQuery(
            // Columns by name: PostgreSQL 18 moved wal_write/wal_sync and their times to pg_stat_io.
            [SQLVariant(from: 140000, "SELECT *, extract(epoch FROM stats_reset) AS stats_reset_epoch FROM pg_stat_wal")],
            metrics: [
                ColumnMetric("pg_stat_wal_records_total", .counter, column: "wal_records", help: "WAL records generated (pg_stat_wal, PostgreSQL 14+)."),
                ColumnMetric("pg_stat_wal_fpi_total", .counter, column: "wal_fpi", help: "Full-page images written to WAL (pg_stat_wal)."),
                ColumnMetric("pg_stat_wal_bytes_total", .counter, column: "wal_bytes", help: "WAL generated, in bytes (pg_stat_wal)."),
                ColumnMetric("pg_stat_wal_buffers_full_total", .counter, column: "wal_buffers_full", help: "Times WAL was written because the WAL buffers were full (pg_stat_wal); rising fast suggests raising wal_buffers."),
                ColumnMetric("pg_stat_wal_write_total", .counter, column: "wal_write", help: "WAL buffer writes to disk (pg_stat_wal, PostgreSQL 14–17)."),
                ColumnMetric("pg_stat_wal_sync_total", .counter, column: "wal_sync", help: "WAL file syncs to disk (pg_stat_wal, PostgreSQL 14–17)."),
                ColumnMetric("pg_stat_wal_write_time_seconds_total", .counter, column: "wal_write_time", scale: 0.001, help: "Time spent writing WAL to disk, in seconds (needs track_wal_io_timing; PostgreSQL 14–17)."),
                ColumnMetric("pg_stat_wal_sync_time_seconds_total", .counter, column: "wal_sync_time", scale: 0.001, help: "Time spent syncing WAL to disk, in seconds (needs track_wal_io_timing; PostgreSQL 14–17)."),
                ColumnMetric("pg_stat_wal_stats_reset_timestamp_seconds", .gauge, column: "stats_reset_epoch", help: "When pg_stat_wal was last reset, in seconds since the epoch."),
            ]),
        MetricQuery(
            sql: "SELECT count(*) AS segments, coalesce(sum(size), 0) AS bytes FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'",
            metrics: [
                ColumnMetric("pg_wal_segments", .gauge, column: "segments", help: "WAL segment files in pg_wal (as postgres_exporter has it; only when the role may run pg_ls_waldir())."),
                ColumnMetric("pg_wal_size_bytes", .gauge, column: "bytes", help: "Size of the WAL segment files in pg_wal, in bytes (only when the role may run pg_ls_waldir())."),
            ],
            requires: "has_function_privilege('pg_ls_waldir()', 'EXECUTE')"),
    ])
