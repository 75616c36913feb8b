public import Exposition
public import PostgresClient

/// A collector for results that are name/value rows rather than one row per entity
/// (PgBouncer's `SHOW LISTS`, `SHOW CONFIG`): a table of which keys become which metrics.
/// Keys are matched by their text and the key and value columns by name, so rows or columns a
/// later server version adds are ignored, and a key an older version lacks only removes its
/// metric.
public struct KeyValueCollector: Collector {
    public let name: String
    public let targetKind: ServerInfo.Kind
    public let summary: String
    /// The one statement to run.
    public let sql: String
    /// The column holding each row's key (`list`, `key`) and the one holding its value.
    public let keyColumn: String
    public let valueColumn: String
    /// Which keys become metrics, in the order they are exported.
    public let entries: [KeyedMetric]

    public init(name: String, targetKind: ServerInfo.Kind, summary: String, sql: String,
                keyColumn: String, valueColumn: String, entries: [KeyedMetric]) {
        self.name = name
        self.targetKind = targetKind
        self.summary = summary
        self.sql = sql
        self.keyColumn = keyColumn
        self.valueColumn = valueColumn
        self.entries = entries
    }

    public var metrics: [MetricDescription] {
        entries.map { MetricDescription(name: $0.name, type: $0.type, help: $0.help, labels: $0.labels) }
    }

    public func collect(from runner: any QueryRunner) async throws -> [MetricFamily] {
        try families(from: try await runner.query(sql))
    }

    /// One family per entry whose key the result has with a usable (non-NULL) value.
    /// - Throws: ``PostgresError`` when the result lacks the key or the value column (not the
    ///   command's result at all), so the collector reports a failure instead of nothing.
    public func families(from result: QueryResult) throws -> [MetricFamily] {
        guard let keyIndex = result.index(of: keyColumn), let valueIndex = result.index(of: valueColumn) else {
            throw PostgresError(
                kind: .queryFailed,
                message: "\(sql) returned columns \(result.columns) without \(keyColumn) and \(valueColumn)")
        }
        var values: [String: String] = [:]
        for row in result.rows {
            guard let key = row[keyIndex], let value = row[valueIndex] else { continue }
            values[key] = values[key] ?? value
        }
        return entries.compactMap { entry in
            guard let text = values[entry.key], let sample = entry.sample(text) else { return nil }
            return MetricFamily(name: entry.name, help: entry.help, type: entry.type, samples: [sample])
        }
    }
}

/// One key of a ``KeyValueCollector`` and the metric it becomes.
public struct KeyedMetric: Sendable {
    /// How the value's text becomes the sample.
    public enum Value: Sendable {
        /// A number, multiplied by `scale` (e.g. 0.001 for ms → s).
        case number(scale: Double)
        /// Text, exported as an `_info` metric: value 1, the text in the label `label`.
        case info(label: String)
    }

    /// The row's key, as the server prints it (`used_clients`, `max_client_conn`).
    public let key: String
    public let name: String
    public let type: MetricType
    public let help: String
    public let value: Value

    /// A numeric value.
    public init(_ key: String, _ name: String, _ type: MetricType = .gauge, scale: Double = 1, help: String) {
        self.init(key: key, name: name, type: type, help: help, value: .number(scale: scale))
    }

    /// A text value, exported as an info metric: value 1, the text in `label`.
    public static func info(_ key: String, _ name: String, label: String, help: String) -> KeyedMetric {
        KeyedMetric(key: key, name: name, type: .gauge, help: help, value: .info(label: label))
    }

    private init(key: String, name: String, type: MetricType, help: String, value: Value) {
        (self.key, self.name, self.type, self.help, self.value) = (key, name, type, help, value)
    }

    /// The sample for the value's text, or `nil` when a number was expected and it is not one.
    func sample(_ text: String) -> Sample? {
        switch value {
        case .number(let scale): parseNumber(text).map { Sample(value: scaled($0, by: scale)) }
        case .info(let label): Sample(labels: [Label(label, text)], value: 1)
        }
    }

    /// The labels the metric carries, for the docs.
    var labels: [String] {
        if case .info(let label) = value { return [label] }
        return []
    }
}
