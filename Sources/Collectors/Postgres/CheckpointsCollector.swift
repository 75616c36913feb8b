import Exposition
import PostgresClient

/// Checkpoints and the background writer. PostgreSQL 17 moved the checkpoint counters from
/// `pg_stat_bgwriter` to `pg_stat_checkpointer`; each is reported under its own view's
/// names, as postgres_exporter names them, so that a dashboard can `or` the two.
public let checkpointsCollector = Collector(
    name: "checkpoints",
    targetKind: .postgres,
    summary: "Checkpoints and background writer: pg_stat_bgwriter, and pg_stat_checkpointer from PostgreSQL 17.",
    queries: [
        MetricQuery(
            // Columns by name: before 17 the view also carries the checkpoint counters.
            sql: "SELECT *, extract(epoch FROM stats_reset) AS stats_reset_epoch FROM pg_stat_bgwriter",
            metrics: [
                ColumnMetric("pg_stat_bgwriter_checkpoints_timed_total", .counter, column: "checkpoints_timed", help: "Scheduled checkpoints (PostgreSQL before 17)."),
                ColumnMetric("pg_stat_bgwriter_checkpoints_req_total", .counter, column: "checkpoints_req", help: "Requested checkpoints (PostgreSQL before 17); many mean max_wal_size is too small."),
                ColumnMetric("pg_stat_bgwriter_checkpoint_write_time_total", .counter, column: "checkpoint_write_time", help: "Time writing checkpoint files, in milliseconds (as postgres_exporter has it; before 17)."),
                ColumnMetric("pg_stat_bgwriter_checkpoint_sync_time_total", .counter, column: "checkpoint_sync_time", help: "Time syncing checkpoint files, in milliseconds (as postgres_exporter has it; before 17)."),
                ColumnMetric("pg_stat_bgwriter_buffers_checkpoint_total", .counter, column: "buffers_checkpoint", help: "Buffers written during checkpoints (before 17)."),
                ColumnMetric("pg_stat_bgwriter_buffers_clean_total", .counter, column: "buffers_clean", help: "Buffers written by the background writer."),
                ColumnMetric("pg_stat_bgwriter_maxwritten_clean_total", .counter, column: "maxwritten_clean", help: "Times the background writer stopped because it wrote too many buffers."),
                ColumnMetric("pg_stat_bgwriter_buffers_backend_total", .counter, column: "buffers_backend", help: "Buffers written directly by backends (before 17)."),
                ColumnMetric("pg_stat_bgwriter_buffers_backend_fsync_total", .counter, column: "buffers_backend_fsync", help: "Times a backend had to fsync itself (before 17)."),
                ColumnMetric("pg_stat_bgwriter_buffers_alloc_total", .counter, column: "buffers_alloc", help: "Buffers allocated."),
                ColumnMetric("pg_stat_bgwriter_stats_reset_timestamp_seconds", .gauge, column: "stats_reset_epoch", help: "When pg_stat_bgwriter was last reset, in seconds since the epoch."),
            ]),
        MetricQuery(
            [SQLVariant(from: 170000, "SELECT *, extract(epoch FROM stats_reset) AS stats_reset_epoch FROM pg_stat_checkpointer")],
            metrics: [
                ColumnMetric("pg_stat_checkpointer_num_timed_total", .counter, column: "num_timed", help: "Scheduled checkpoints (PostgreSQL 17+)."),
                ColumnMetric("pg_stat_checkpointer_num_requested_total", .counter, column: "num_requested", help: "Requested checkpoints (PostgreSQL 17+)."),
                ColumnMetric("pg_stat_checkpointer_num_done_total", .counter, column: "num_done", help: "Checkpoints completed (PostgreSQL 18+)."),
                ColumnMetric("pg_stat_checkpointer_restartpoints_timed_total", .counter, column: "restartpoints_timed", help: "Scheduled restartpoints on a standby (PostgreSQL 17+)."),
                ColumnMetric("pg_stat_checkpointer_restartpoints_req_total", .counter, column: "restartpoints_req", help: "Requested restartpoints on a standby (PostgreSQL 17+)."),
                ColumnMetric("pg_stat_checkpointer_restartpoints_done_total", .counter, column: "restartpoints_done", help: "Restartpoints completed on a standby (PostgreSQL 17+)."),
                ColumnMetric("pg_stat_checkpointer_write_time_total", .counter, column: "write_time", help: "Time writing checkpoint files, in milliseconds (as postgres_exporter has it; 17+)."),
                ColumnMetric("pg_stat_checkpointer_sync_time_total", .counter, column: "sync_time", help: "Time syncing checkpoint files, in milliseconds (as postgres_exporter has it; 17+)."),
                ColumnMetric("pg_stat_checkpointer_buffers_written_total", .counter, column: "buffers_written", help: "Buffers written during checkpoints and restartpoints (PostgreSQL 17+)."),
                ColumnMetric("pg_stat_checkpointer_stats_reset_timestamp_seconds", .gauge, column: "stats_reset_epoch", help: "When pg_stat_checkpointer was last reset, in seconds since the epoch."),
            ]),
    ])
