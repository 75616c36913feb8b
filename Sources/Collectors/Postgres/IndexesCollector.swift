import Exposition
import PostgresClient

/// Per database, the indexes never scanned since its statistics were reset: how many and how
/// big. Two series a database, so on by default; the tables collector names the largest.
/// Read once per `databases.refresh` (5 minutes), as the database list is.
///
/// Indexes that enforce something (primary key, unique, exclusion) are left out: they are
/// needed whether scanned or not. Sizes come from `pg_class.relpages`, which needs no lock
/// (`pg_relation_size` would wait behind a migration's lock on the table and fail the scrape).
public let indexesCollector = Collector(
    name: "indexes",
    targetKind: .postgres,
    summary: "Per database (discovered): the number and size of indexes never scanned since the statistics reset (pg_stat_user_indexes.idx_scan = 0), those behind primary key, unique and exclusion constraints left out.",
    queries: [
        MetricQuery(
            sql: """
                SELECT current_database() AS datname, count(*) AS unused, coalesce(sum(\(UnusedIndexes.size)), 0) AS size
                \(UnusedIndexes.fromWhere)
                """,
            labels: ["datname"],
            metrics: [
                ColumnMetric("pg_unused_indexes", .gauge, column: "unused", help: "Indexes of the database never scanned since its statistics were reset (pg_stat_database_stats_reset_timestamp_seconds), other than primary key, unique and exclusion ones. Scans on a standby count only there: check every server before dropping one."),
                ColumnMetric("pg_unused_indexes_size_bytes", .gauge, column: "size", help: "Size of those indexes in bytes, from pg_class.relpages (as of the last VACUUM, ANALYZE or CREATE INDEX)."),
            ]),
    ],
    scope: .database,
    // Counts move only when an index gets its first scan: read with the database list, not on
    // every scrape (one connection per database would otherwise be opened again each time).
    refreshesWithDiscovery: true)

/// The SQL both the indexes and the tables collector use to find unused indexes.
enum UnusedIndexes {
    /// An index's size from `pg_class` (alias `c`), without taking a lock.
    static let size = "c.relpages::bigint * current_setting('block_size')::bigint"

    /// Indexes never scanned that enforce no constraint; aliases `s` (pg_stat_user_indexes,
    /// which lists no partitioned parent: their scans count on the partitions) and `c` (pg_class).
    static let fromWhere = """
        FROM pg_stat_user_indexes s
        JOIN pg_index i ON i.indexrelid = s.indexrelid
        JOIN pg_class c ON c.oid = s.indexrelid
        WHERE s.idx_scan = 0 AND NOT (i.indisprimary OR i.indisunique OR i.indisexclusion)
        """
}
