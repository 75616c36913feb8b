import Exposition
import PostgresClient

/// Server identity: version, role (primary or standby), postmaster start time.
public let serverCollector = Collector(
    name: "server",
    targetKind: .postgres,
    summary: "Server version, whether it is a standby, and when the postmaster started.",
    queries: [
        MetricQuery(
            sql: """
                SELECT version() AS version,
                       split_part(current_setting('server_version'), ' ', 1) AS short_version,
                       current_setting('server_version_num') AS version_num,
                       pg_is_in_recovery() AS in_recovery,
                       extract(epoch FROM pg_postmaster_start_time()) AS postmaster_start_time
                """,
            metrics: [
                .info(
                    "pg_version_info", labels: ["version", "short_version", "version_num"],
                    help: "PostgreSQL server version (labels: version() text, short version, server_version_num); value 1."),
                ColumnMetric(
                    "pg_replication_is_replica", .gauge, column: "in_recovery",
                    help: "1 if the server is a standby (pg_is_in_recovery()), 0 if it is a primary."),
                ColumnMetric(
                    "pg_postmaster_start_time_seconds", .gauge, column: "postmaster_start_time",
                    help: "Time the postmaster started, in seconds since the Unix epoch (pg_postmaster_start_time())."),
            ])
    ])
