import Exposition
import PostgresClient

/// The server settings that alerts and dashboards need — not all 300 of them.
///
/// Named as postgres_exporter names them: `pg_settings_<name>`, with `_seconds` or `_bytes`
/// when the setting has a unit, converted to that base unit by the SQL. `-1` (disabled) stays
/// `-1`. `max_connections` and the reserved slots come with the `connections` collector.
public let settingsCollector = Collector(
    name: "settings",
    targetKind: .postgres,
    summary: "A short list of server settings that alerts and dashboards use, in base units; read once a minute.",
    queries: [
        MetricQuery(
            sql: """
                SELECT name, CASE WHEN vartype = 'bool' THEN (reset_val = 'on')::int::numeric
                                  WHEN reset_val = '-1' THEN -1
                                  ELSE reset_val::numeric * \(baseUnitFactorSQL) END AS value
                FROM pg_settings WHERE name IN (\(settings.map { "'\($0.name)'" }.joined(separator: ", ")))
                ORDER BY name
                """,
            metrics: settings.map { setting in
                ColumnMetric(
                    "pg_settings_" + setting.name + setting.suffix, .gauge, column: setting.name,
                    help: "Server setting \(setting.name): \(setting.purpose).")
            },
            // Settings change only on a reload or a restart: read once a minute.
            refreshInterval: .seconds(60),
            keyValue: KeyValueColumns(key: "name", value: "value")),
    ])

/// The settings read: name, the suffix of its base unit, and what it is for.
private let settings: [(name: String, suffix: String, purpose: String)] = [
    ("archive_timeout", "_seconds", "time after which a WAL segment is switched for archiving (0: never)"),
    ("autovacuum_freeze_max_age", "", "XID age that forces an anti-wraparound vacuum"),
    ("autovacuum_multixact_freeze_max_age", "", "multixact age that forces an anti-wraparound vacuum"),
    ("autovacuum_vacuum_scale_factor", "", "fraction of a table changed before autovacuum"),
    ("autovacuum_vacuum_threshold", "", "rows changed before autovacuum"),
    ("checkpoint_timeout", "_seconds", "time between automatic checkpoints"),
    ("effective_cache_size", "_bytes", "the planner's assumption of cache size"),
    ("idle_in_transaction_session_timeout", "_seconds", "idle-in-transaction timeout (0: none)"),
    ("max_locks_per_transaction", "", "lock table size per transaction"),
    ("max_replication_slots", "", "most replication slots"),
    ("max_slot_wal_keep_size", "_bytes", "most WAL replication slots may retain (-1: no limit)"),
    ("max_wal_senders", "", "most concurrent WAL senders"),
    ("max_wal_size", "_bytes", "WAL size that triggers a checkpoint"),
    ("min_wal_size", "_bytes", "WAL kept for reuse"),
    ("shared_buffers", "_bytes", "memory for shared buffers"),
    ("statement_timeout", "_seconds", "default statement timeout (0: none)"),
    ("track_io_timing", "", "whether I/O timing is collected"),
    ("wal_keep_size", "_bytes", "WAL kept for standbys"),
    ("work_mem", "_bytes", "memory per sort or hash before spilling to disk"),
]

/// The factor from a `pg_settings.unit` to seconds or bytes (memory units may carry a
/// multiplier: `8kB`, `16MB`); NULL for a unit not known here, which drops the setting.
private let baseUnitFactorSQL = """
    CASE WHEN unit IS NULL OR unit = '' THEN 1
         WHEN unit IN ('us', 'ms', 's', 'min', 'h', 'd') THEN
             CASE unit WHEN 'us' THEN 0.000001 WHEN 'ms' THEN 0.001 WHEN 's' THEN 1
                       WHEN 'min' THEN 60 WHEN 'h' THEN 3600 ELSE 86400 END
         ELSE coalesce(nullif(substring(unit FROM '^[0-9]+'), '')::numeric, 1)
              * CASE substring(unit FROM '[A-Za-z]+$') WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576
                     WHEN 'GB' THEN 1073741824 WHEN 'TB' THEN 1099511627776 END
    END
    """
