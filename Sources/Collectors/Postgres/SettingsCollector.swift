import Exposition
import PostgresClient

/// The server settings that alerts and dashboards need — not all 300 of them.
///
/// Named as postgres_exporter names them: `pg_settings_<name>`, with `_seconds` or `_bytes`
/// when the setting has a unit, converted to that base unit. `-1` (disabled) stays `-1`.
/// `max_connections` and the reserved slots come with the `connections` collector.
public struct SettingsCollector: Collector {
    public let name = "settings"
    public let targetKind = ServerInfo.Kind.postgres
    public let summary = "A short list of server settings that alerts and dashboards use, in base units."

    /// The settings read, and what each is for.
    static let settings: [(name: String, purpose: String)] = [
        ("shared_buffers", "memory for shared buffers"),
        ("effective_cache_size", "the planner's assumption of cache size"),
        ("work_mem", "memory per sort or hash before spilling to disk"),
        ("max_wal_size", "WAL size that triggers a checkpoint"),
        ("min_wal_size", "WAL kept for reuse"),
        ("wal_keep_size", "WAL kept for standbys"),
        ("max_slot_wal_keep_size", "most WAL replication slots may retain (-1: no limit)"),
        ("max_wal_senders", "most concurrent WAL senders"),
        ("max_replication_slots", "most replication slots"),
        ("checkpoint_timeout", "time between automatic checkpoints"),
        ("archive_timeout", "time after which a WAL segment is switched for archiving (0: never)"),
        ("max_locks_per_transaction", "lock table size per transaction"),
        ("autovacuum_freeze_max_age", "XID age that forces an anti-wraparound vacuum"),
        ("autovacuum_multixact_freeze_max_age", "multixact age that forces an anti-wraparound vacuum"),
        ("autovacuum_vacuum_scale_factor", "fraction of a table changed before autovacuum"),
        ("autovacuum_vacuum_threshold", "rows changed before autovacuum"),
        ("statement_timeout", "default statement timeout (0: none)"),
        ("idle_in_transaction_session_timeout", "idle-in-transaction timeout (0: none)"),
        ("track_io_timing", "whether I/O timing is collected"),
    ]

    public init() {}

    public var metrics: [MetricDescription] {
        Self.settings.map { setting in
            MetricDescription(
                name: "pg_settings_" + setting.name + (Self.documentedSuffix[setting.name] ?? ""), type: .gauge,
                help: "Server setting \(setting.name): \(setting.purpose).", labels: [])
        }
    }

    /// The unit suffix of each setting on PostgreSQL 15, for the docs (the live unit decides).
    private static let documentedSuffix: [String: String] = [
        "shared_buffers": "_bytes", "effective_cache_size": "_bytes", "work_mem": "_bytes", "max_wal_size": "_bytes",
        "min_wal_size": "_bytes", "wal_keep_size": "_bytes", "max_slot_wal_keep_size": "_bytes",
        "checkpoint_timeout": "_seconds", "archive_timeout": "_seconds", "statement_timeout": "_seconds",
        "idle_in_transaction_session_timeout": "_seconds",
    ]

    public func collect(from runner: any QueryRunner) async throws -> [MetricFamily] {
        let names = Self.settings.map { "'\($0.name)'" }.joined(separator: ", ")
        let result = try await runner.query("SELECT name, reset_val AS setting, unit FROM pg_settings WHERE name IN (\(names)) ORDER BY name")
        let purposes = Dictionary(uniqueKeysWithValues: Self.settings)
        return result.rows.indices.compactMap { index -> MetricFamily? in
            let row = QueryRow(result: result, index: index)
            guard let name = row["name"], let text = row["setting"], let value = parseNumber(text),
                  let (suffix, factor) = Self.baseUnit(row["unit"]) else { return nil }
            let converted = value == -1 ? -1 : value * factor
            return .gauge(
                "pg_settings_" + name + suffix, help: "Server setting \(name): \(purposes[name] ?? name).",
                samples: [Sample(value: converted)])
        }
    }

    /// The metric suffix and factor to a base unit for a `pg_settings.unit`; `nil` if unknown.
    static func baseUnit(_ unit: String?) -> (String, Double)? {
        guard let unit, !unit.isEmpty else { return ("", 1) }
        let timeUnits: [String: Double] = ["us": 1e-6, "ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400]
        if let factor = timeUnits[unit] { return ("_seconds", factor) }
        // Memory units, possibly with a multiplier: "B", "kB", "8kB", "MB", "16MB", "GB", "TB".
        let digits = unit.prefix { $0.isNumber }
        let multiplier = Double(digits) ?? 1
        let memoryUnits: [String: Double] = ["B": 1, "kB": 1024, "MB": 1_048_576, "GB": 1_073_741_824, "TB": 1_099_511_627_776]
        guard let factor = memoryUnits[String(unit.dropFirst(digits.count))] else { return nil }
        return ("_bytes", multiplier * factor)
    }
}
