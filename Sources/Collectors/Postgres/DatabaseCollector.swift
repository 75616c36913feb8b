import Exposition
import PostgresClient

/// Per-database activity (`pg_stat_database`), size, and transaction-ID wraparound age.
///
/// The `pg_stat_database_*` names, types and units are postgres_exporter's (its counters lack
/// `_total` and its `blk_*_time` are milliseconds), so existing dashboards keep working; the
/// session counters PostgreSQL 14 added follow Prometheus practice.
public let databaseCollector = Collector(
    name: "database",
    targetKind: .postgres,
    summary: "Per database: pg_stat_database counters (commits, rollbacks, blocks, tuples, deadlocks, conflicts, temp files, sessions), size and wraparound age (refreshed at most once a minute).",
    queries: [
        MetricQuery(
            // Columns by name: sessions and session times exist from PostgreSQL 14.
            sql: """
                SELECT s.*, extract(epoch FROM s.stats_reset) AS stats_reset_epoch
                FROM pg_stat_database s WHERE s.datname IS NOT NULL ORDER BY s.datname
                """,
            labels: ["datid", "datname"],
            metrics: [
                ColumnMetric("pg_stat_database_numbackends", .gauge, column: "numbackends", help: "Backends connected to this database."),
                ColumnMetric("pg_stat_database_xact_commit", .counter, column: "xact_commit", help: "Transactions committed in this database."),
                ColumnMetric("pg_stat_database_xact_rollback", .counter, column: "xact_rollback", help: "Transactions rolled back in this database."),
                ColumnMetric("pg_stat_database_blks_read", .counter, column: "blks_read", help: "Disk blocks read in this database (not found in shared buffers)."),
                ColumnMetric("pg_stat_database_blks_hit", .counter, column: "blks_hit", help: "Disk blocks found in shared buffers in this database."),
                ColumnMetric("pg_stat_database_tup_returned", .counter, column: "tup_returned", help: "Rows returned by queries in this database."),
                ColumnMetric("pg_stat_database_tup_fetched", .counter, column: "tup_fetched", help: "Rows fetched by queries in this database."),
                ColumnMetric("pg_stat_database_tup_inserted", .counter, column: "tup_inserted", help: "Rows inserted in this database."),
                ColumnMetric("pg_stat_database_tup_updated", .counter, column: "tup_updated", help: "Rows updated in this database."),
                ColumnMetric("pg_stat_database_tup_deleted", .counter, column: "tup_deleted", help: "Rows deleted in this database."),
                ColumnMetric("pg_stat_database_conflicts", .counter, column: "conflicts", help: "Queries cancelled by recovery conflicts in this database (standbys)."),
                ColumnMetric("pg_stat_database_temp_files", .counter, column: "temp_files", help: "Temporary files created by queries in this database."),
                ColumnMetric("pg_stat_database_temp_bytes", .counter, column: "temp_bytes", help: "Bytes written to temporary files by queries in this database."),
                ColumnMetric("pg_stat_database_deadlocks", .counter, column: "deadlocks", help: "Deadlocks detected in this database."),
                ColumnMetric("pg_stat_database_blk_read_time", .counter, column: "blk_read_time", help: "Time spent reading data file blocks, in milliseconds (as postgres_exporter has it; needs track_io_timing)."),
                ColumnMetric("pg_stat_database_blk_write_time", .counter, column: "blk_write_time", help: "Time spent writing data file blocks, in milliseconds (as postgres_exporter has it; needs track_io_timing)."),
                ColumnMetric("pg_stat_database_stats_reset_timestamp_seconds", .gauge, column: "stats_reset_epoch", help: "When this database's statistics were last reset, in seconds since the epoch."),
                ColumnMetric("pg_stat_database_sessions_total", .counter, column: "sessions", help: "Sessions established to this database (PostgreSQL 14+)."),
                ColumnMetric("pg_stat_database_session_time_seconds_total", .counter, column: "session_time", scale: 0.001, help: "Time sessions spent connected to this database, in seconds (PostgreSQL 14+)."),
                ColumnMetric("pg_stat_database_active_time_seconds_total", .counter, column: "active_time", scale: 0.001, help: "Time spent executing statements in this database, in seconds (PostgreSQL 14+)."),
                ColumnMetric("pg_stat_database_idle_in_transaction_time_seconds_total", .counter, column: "idle_in_transaction_time", scale: 0.001, help: "Time sessions spent idle inside a transaction in this database, in seconds (PostgreSQL 14+)."),
                ColumnMetric("pg_stat_database_sessions_abandoned_total", .counter, column: "sessions_abandoned", help: "Sessions ended because the client went away (PostgreSQL 14+)."),
                ColumnMetric("pg_stat_database_sessions_fatal_total", .counter, column: "sessions_fatal", help: "Sessions ended by fatal errors (PostgreSQL 14+)."),
                ColumnMetric("pg_stat_database_sessions_killed_total", .counter, column: "sessions_killed", help: "Sessions ended by an operator (PostgreSQL 14+)."),
            ]),
        MetricQuery(
            sql: """
                SELECT datname, pg_database_size(oid) AS size, age(datfrozenxid) AS xid_age, mxid_age(datminmxid) AS mxid_age
                FROM pg_database WHERE datallowconn OR NOT datistemplate ORDER BY datname
                """,
            labels: ["datname"],
            metrics: [
                ColumnMetric("pg_database_size_bytes", .gauge, column: "size", help: "Disk space used by the database, in bytes."),
                ColumnMetric("pg_database_datfrozenxid_age_xids", .gauge, column: "xid_age", help: "Age of the database's datfrozenxid, in transaction IDs: at about 2 billion the server stops accepting writes (wraparound)."),
                ColumnMetric("pg_database_datminmxid_age_mxids", .gauge, column: "mxid_age", help: "Age of the database's datminmxid, in multixact IDs (multixact wraparound)."),
            ],
            // pg_database_size stats every file of every database: about 30 ms of server time
            // per scrape for 20 databases of 100 tables (docs/performance.md). Sizes and ages
            // change slowly; ask at most once a minute.
            refreshInterval: .seconds(60)),
    ])
