public import Collectors
import Exposition

/// A query the operator declares, in postgres_exporter's `queries.yaml` (`--extend.query-path`)
/// or under `custom_queries:` in the config file. It becomes a ``Collector`` of its own, so it
/// runs through the same engine as the built-in ones (deadline, `SET LOCAL` timeouts, prepared
/// statements, series budget) and fails alone.
public struct CustomQuery: Sendable {
    /// What a column is for, as `usage:` names it.
    public enum Usage: String, Sendable, CaseIterable {
        case label = "LABEL"
        case counter = "COUNTER"
        case gauge = "GAUGE"
        /// A text mapped to a number by `metric_mapping` (or read as a number without one).
        case mappedMetric = "MAPPEDMETRIC"
        /// A duration, exported in milliseconds as `<name>_<column>_milliseconds`.
        case duration = "DURATION"
        case discard = "DISCARD"
    }

    /// One declared column.
    public struct Column: Sendable, Equatable {
        public var name: String
        public var usage: Usage
        public var help: String
        /// `MAPPEDMETRIC`: value by text.
        public var mapping: [String: Double] = [:]
    }

    /// The metric name prefix and the collector's name (`pg_app_queue`).
    public var name: String
    /// SQL per server version (one variant from version 0 when a single text is given).
    public var sql: [SQLVariant]
    public var serverVersions: ServerVersionRange?
    public var scope: CollectorScope = .cluster
    /// How long a result is reused (postgres_exporter's `cache_seconds`).
    public var cache: Duration?
    /// Its timeout in place of the target's collector timeout.
    public var timeout: Duration?
    public var columns: [Column]
    /// Where it is declared (`queries.yaml:12`), for the docs of its metrics.
    public var source: String

    /// The metric name a column becomes (none for labels and discarded columns).
    static func metricName(query: String, column: Column) -> String? {
        switch column.usage {
        case .label, .discard: nil
        case .duration: "\(query)_\(column.name)_milliseconds"
        case .counter, .gauge, .mappedMetric: "\(query)_\(column.name)"
        }
    }

    /// The metric names it produces.
    var metricNames: [String] { columns.compactMap { Self.metricName(query: name, column: $0) } }

    /// The collector that runs it on a PostgreSQL target.
    public var collector: Collector {
        let labels = columns.filter { $0.usage == .label }.map(\.name)
        let metrics: [ColumnMetric] = columns.compactMap { column in
            guard let metricName = Self.metricName(query: name, column: column) else { return nil }
            let help = column.help.isEmpty ? "\(column.name) of the custom query \(name) (\(source))." : column.help
            let columnName = column.name
            switch column.usage {
            case .counter, .gauge:
                return ColumnMetric(metricName, column.usage == .counter ? .counter : .gauge, help: help) { row in
                    row[columnName].flatMap(CustomValue.number)
                }
            case .mappedMetric:
                let mapping = column.mapping
                return ColumnMetric(metricName, .gauge, help: help) { row in
                    row[columnName].flatMap { mapping.isEmpty ? CustomValue.number($0) : mapping[$0] }
                }
            case .duration:
                return ColumnMetric(metricName, .gauge, help: help) { row in row[columnName].flatMap(CustomValue.milliseconds) }
            case .label, .discard:
                return nil
            }
        }
        let variants = sql
        let query = MetricQuery(
            options: { _ in variants }, labels: labels, metrics: metrics, refreshInterval: cache,
            serverVersions: serverVersions, requiredColumns: columns.map(\.name))
        return Collector(
            name: name, targetKind: .postgres, summary: "Custom query \(name) (\(source)).", queries: [query], scope: scope,
            timeout: timeout, fingerprint: fingerprint)
    }

    /// Everything that decides what it runs and exports, so a reload that changes any of it
    /// replaces the target's scraper.
    private var fingerprint: String {
        let sqlText = sql.map { "\($0.minimumVersion):\($0.sql)" }.joined(separator: "\u{1}")
        let columnText = columns.map { "\($0.name)|\($0.usage.rawValue)|\($0.help)|\($0.mapping.sorted { $0.key < $1.key })" }
        return ["custom", name, sqlText, serverVersions?.description ?? "", "\(scope)", "\(String(describing: cache))",
                "\(String(describing: timeout))", columnText.joined(separator: "\u{1}")].joined(separator: "\u{2}")
    }
}
