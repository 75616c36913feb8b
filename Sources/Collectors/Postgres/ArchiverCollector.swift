import Exposition
import PostgresClient

/// WAL archiving (`pg_stat_archiver`): successes, failures, how long since each, and how many
/// segments wait to be archived — which shows a stuck `archive_command` even on an idle
/// primary, where the time since the last success grows anyway.
public let archiverCollector = Collector(
    name: "archiver",
    targetKind: .postgres,
    summary: "WAL archiving (pg_stat_archiver): archived and failed counts, ages of the last success and failure, segments waiting (.ready), archive_mode.",
    queries: [
        MetricQuery(
            sql: """
                SELECT archived_count, failed_count,
                       extract(epoch FROM clock_timestamp() - last_archived_time) AS last_archive_age,
                       extract(epoch FROM clock_timestamp() - last_failed_time) AS last_failure_age,
                       extract(epoch FROM last_archived_time) AS last_archived_time,
                       extract(epoch FROM last_failed_time) AS last_failed_time,
                       coalesce(last_archived_wal, '') AS last_archived_wal,
                       coalesce(last_failed_wal, '') AS last_failed_wal,
                       current_setting('archive_mode') <> 'off' AS archive_mode
                FROM pg_stat_archiver
                """,
            metrics: [
                ColumnMetric("pg_stat_archiver_archived_count", .counter, column: "archived_count", help: "WAL files archived successfully (as postgres_exporter names it)."),
                ColumnMetric("pg_stat_archiver_failed_count", .counter, column: "failed_count", help: "Failed attempts to archive a WAL file (as postgres_exporter names it)."),
                ColumnMetric("pg_stat_archiver_last_archive_age", .gauge, column: "last_archive_age", help: "Seconds since the last WAL file was archived (absent if none ever was), as postgres_exporter has it."),
                ColumnMetric("pg_stat_archiver_last_failure_age_seconds", .gauge, column: "last_failure_age", help: "Seconds since the last failed archive attempt (absent if none ever failed)."),
                ColumnMetric("pg_stat_archiver_last_archived_timestamp_seconds", .gauge, column: "last_archived_time", help: "When the last WAL file was archived, in seconds since the epoch."),
                ColumnMetric("pg_stat_archiver_last_failed_timestamp_seconds", .gauge, column: "last_failed_time", help: "When the last archive attempt failed, in seconds since the epoch."),
                .info("pg_stat_archiver_last_wal_info", labels: ["last_archived_wal", "last_failed_wal"], help: "The last WAL file archived and the last that failed to archive; value 1."),
                ColumnMetric("pg_archive_mode", .gauge, column: "archive_mode", help: "1 if archive_mode is on (or always), 0 if off."),
            ]),
        MetricQuery(
            sql: "SELECT count(*) AS pending FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
            metrics: [
                ColumnMetric(
                    "pg_stat_archiver_pending_segments", .gauge, column: "pending",
                    help: "WAL segments waiting to be archived (.ready files in pg_wal/archive_status); growing means archiving is stuck or too slow."),
            ],
            requires: "has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE')"),
    ])
