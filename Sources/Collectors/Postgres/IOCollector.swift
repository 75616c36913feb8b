import Exposition
import PostgresClient

/// Cluster-wide I/O by backend type, object and context (`pg_stat_io`, PostgreSQL 16+;
/// skipped before).
///
/// The view has a fixed set of rows per version (35 on 17, 79 on 18), each up to 16 series:
/// all of them make 823 series on 18. Rows that saw no I/O since the last reset are left out
/// (a fresh 18 bed then gives 150–200). A cell PostgreSQL leaves NULL (an operation that
/// backend type never does) gives no series. Columns are taken by name: 16–17 have `op_bytes`, 18 has
/// `read_bytes`, `write_bytes` and `extend_bytes` and rows for `object = 'wal'`.
public let ioCollector = Collector(
    name: "io",
    targetKind: .postgres,
    summary: "pg_stat_io (PostgreSQL 16+): reads, writes, writebacks, extends, hits, evictions, reuses and fsyncs, their times and (18+) bytes, by backend_type, object and context; rows with no I/O since the reset are left out.",
    queries: [
        MetricQuery(
            // GREATEST ignores NULLs: a row is kept when one of its counters is above zero.
            [SQLVariant(from: 160000, """
                SELECT * FROM pg_stat_io
                WHERE greatest(reads, writes, writebacks, extends, hits, evictions, reuses, fsyncs) > 0
                ORDER BY backend_type, object, context
                """)],
            labels: ["backend_type", "object", "context"],
            metrics: ioOperations.flatMap(\.metrics) + [
                ColumnMetric("pg_stat_io_read_bytes_total", .counter, column: "read_bytes", help: "Bytes read (pg_stat_io, PostgreSQL 18+; before, reads × op_bytes)."),
                ColumnMetric("pg_stat_io_write_bytes_total", .counter, column: "write_bytes", help: "Bytes written (pg_stat_io, PostgreSQL 18+; before, writes × op_bytes)."),
                ColumnMetric("pg_stat_io_extend_bytes_total", .counter, column: "extend_bytes", help: "Bytes by which relations were extended (pg_stat_io, PostgreSQL 18+; before, extends × op_bytes)."),
                ColumnMetric("pg_stat_io_op_bytes", .gauge, column: "op_bytes", help: "Bytes per read, write and extend of the row: the block size (pg_stat_io, PostgreSQL 16–17)."),
            ]),
        MetricQuery(
            [SQLVariant(from: 160000, "SELECT extract(epoch FROM max(stats_reset)) AS stats_reset_epoch FROM pg_stat_io")],
            metrics: [
                ColumnMetric("pg_stat_io_stats_reset_timestamp_seconds", .gauge, column: "stats_reset_epoch", help: "When pg_stat_io was last reset, in seconds since the epoch (PostgreSQL 16+)."),
            ]),
    ])

/// One kind of operation `pg_stat_io` counts: its column, and the column of its time (ms).
private struct IOOperation {
    let column: String
    let timeColumn: String?
    let help: String

    var metrics: [ColumnMetric] {
        [ColumnMetric("pg_stat_io_\(column)_total", .counter, column: column, help: help)] + (timeColumn.map { time in
            [ColumnMetric(
                "pg_stat_io_\(time)_seconds_total", .counter, column: time, scale: 0.001,
                help: "Time spent in \(column), in seconds (pg_stat_io, PostgreSQL 16+). 0 unless track_io_timing is on (track_wal_io_timing for object wal).")]
        } ?? [])
    }
}

private let ioOperations = [
    IOOperation(column: "reads", timeColumn: "read_time", help: "Read operations (pg_stat_io, PostgreSQL 16+): blocks of op_bytes before 18, possibly merged ones from 18."),
    IOOperation(column: "writes", timeColumn: "write_time", help: "Write operations (pg_stat_io, PostgreSQL 16+); client backends writing much means the background writer and checkpointer fall behind."),
    IOOperation(column: "writebacks", timeColumn: "writeback_time", help: "Requests to the kernel to write data out to storage (pg_stat_io, PostgreSQL 16+)."),
    IOOperation(column: "extends", timeColumn: "extend_time", help: "Relation extend operations (pg_stat_io, PostgreSQL 16+)."),
    IOOperation(column: "hits", timeColumn: nil, help: "Times a wanted block was found in a buffer (pg_stat_io, PostgreSQL 16+)."),
    IOOperation(column: "evictions", timeColumn: nil, help: "Buffers evicted to make room for another block (pg_stat_io, PostgreSQL 16+); many in context normal suggest shared_buffers is small."),
    IOOperation(column: "reuses", timeColumn: nil, help: "Ring buffers reused in bulk read, bulk write and vacuum contexts (pg_stat_io, PostgreSQL 16+)."),
    IOOperation(column: "fsyncs", timeColumn: "fsync_time", help: "fsync calls (pg_stat_io, PostgreSQL 16+); only the checkpointer should make them, a client backend's mean a full sync queue."),
]
