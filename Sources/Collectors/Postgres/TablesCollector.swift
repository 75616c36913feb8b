import Exposition
import PostgresClient

/// The busiest and most neglected user tables of every database (`pg_stat_user_tables`),
/// capped per database: off by default, since tables are many.
///
/// Runs in each database the target's discovery finds (`databases:` in the config), and keeps
/// the 20 tables with the most dead rows, then the most sequential scans, and the largest
/// unused indexes (`unused_indexes_top_n`; the indexes collector counts them all).
public let tablesCollector = Collector(
    name: "tables",
    targetKind: .postgres,
    summary: "Per database (discovered), the top tables by dead rows and sequential scans (pg_stat_user_tables) and the largest unused indexes. Off by default.",
    queries: [
        MetricQuery(
            sql: """
                SELECT current_database() AS datname, schemaname, relname,
                       n_live_tup, n_dead_tup, seq_scan, coalesce(idx_scan, 0) AS idx_scan,
                       n_tup_ins + n_tup_upd + n_tup_del AS changes, autovacuum_count,
                       extract(epoch FROM clock_timestamp() - greatest(last_vacuum, last_autovacuum)) AS vacuum_age
                FROM pg_stat_user_tables
                ORDER BY n_dead_tup DESC, seq_scan DESC, schemaname, relname
                LIMIT 20
                """,
            labels: ["datname", "schemaname", "relname"],
            metrics: [
                ColumnMetric("pg_stat_user_tables_n_live_tup", .gauge, column: "n_live_tup", help: "Estimated live rows in the table (as postgres_exporter names it)."),
                ColumnMetric("pg_stat_user_tables_n_dead_tup", .gauge, column: "n_dead_tup", help: "Estimated dead rows waiting for vacuum (as postgres_exporter names it)."),
                ColumnMetric("pg_stat_user_tables_seq_scan", .counter, column: "seq_scan", help: "Sequential scans of the table (as postgres_exporter names it)."),
                ColumnMetric("pg_stat_user_tables_idx_scan", .counter, column: "idx_scan", help: "Index scans of the table (as postgres_exporter names it)."),
                ColumnMetric("pg_stat_user_tables_changes_total", .counter, column: "changes", help: "Rows inserted, updated or deleted in the table."),
                ColumnMetric("pg_stat_user_tables_autovacuum_count", .counter, column: "autovacuum_count", help: "Times autovacuum vacuumed the table (as postgres_exporter names it)."),
                ColumnMetric("pg_stat_user_tables_last_vacuum_age_seconds", .gauge, column: "vacuum_age", help: "Seconds since the table was last vacuumed, by hand or by autovacuum (absent if never)."),
            ]),
        MetricQuery(
            options: { options in
                [SQLVariant("""
                    SELECT current_database() AS datname, s.schemaname, s.relname, s.indexrelname, \(UnusedIndexes.size) AS size
                    \(UnusedIndexes.fromWhere)
                    ORDER BY size DESC, s.schemaname, s.relname, s.indexrelname
                    LIMIT \(options.unusedIndexesTopN)
                    """)]
            },
            labels: ["datname", "schemaname", "relname", "indexrelname"],
            metrics: [
                ColumnMetric("pg_unused_index_size_bytes", .gauge, column: "size", help: "Size in bytes of one of the database's largest unused indexes (unused_indexes_top_n of those pg_unused_indexes counts)."),
            ]),
    ],
    scope: .database,
    enabledByDefault: false)
