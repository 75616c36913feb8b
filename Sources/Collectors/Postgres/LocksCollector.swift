import Exposition
import PostgresClient

/// The lock modes `pg_locks` reports, lower-cased as postgres_exporter labels them.
let lockModes = [
    "accesssharelock", "rowsharelock", "rowexclusivelock", "shareupdateexclusivelock", "sharelock",
    "sharerowexclusivelock", "exclusivelock", "accessexclusivelock", "sireadlock",
]

/// Locks per database and mode (`pg_locks`), held and waited for. Every (database, mode) pair
/// is reported, zero included. Locks on no database (transaction IDs, virtual transactions)
/// are not counted.
public let locksCollector = Collector(
    name: "locks",
    targetKind: .postgres,
    summary: "Locks per database and mode (pg_locks): all, and those waiting to be granted.",
    queries: [
        MetricQuery(
            sql: """
                WITH locks AS (
                    SELECT database, lower(mode) AS mode, count(*) AS count, count(*) FILTER (WHERE NOT granted) AS waiting
                    FROM pg_locks WHERE database IS NOT NULL GROUP BY 1, 2)
                SELECT d.datname, m.mode, coalesce(l.count, 0) AS count, coalesce(l.waiting, 0) AS waiting
                FROM pg_database d
                CROSS JOIN unnest(ARRAY['\(lockModes.joined(separator: "', '"))']) AS m(mode)
                LEFT JOIN locks l ON l.database = d.oid AND l.mode = m.mode
                WHERE NOT d.datistemplate
                ORDER BY 1, 2
                """,
            labels: ["datname", "mode"],
            metrics: [
                ColumnMetric("pg_locks_count", .gauge, column: "count", help: "Locks held or awaited in this database and mode (as postgres_exporter has it)."),
                ColumnMetric("pg_locks_waiting", .gauge, column: "waiting", help: "Locks in this database and mode that are waiting to be granted."),
            ]),
    ])
