public import Exposition
import PostgresClient

/// A metric of a ``MetricQuery``: its description and where its value comes from.
public struct ColumnMetric: Sendable {
    /// Where the sample value comes from.
    public enum Value: Sendable {
        /// A numeric (or boolean `t`/`f`) column, multiplied by `scale` (e.g. 0.001 for ms → s).
        case column(String, scale: Double)
        /// The first of these columns that the result has, multiplied by `scale`: one value whose
        /// column was renamed or replaced across server versions (newest name first).
        case firstColumn([String], scale: Double)
        /// The constant 1, for `_info` metrics whose information is in the labels.
        case one
        /// Computed from several columns (e.g. whole seconds plus microseconds); `nil` → no sample.
        case computed(@Sendable (QueryRow) -> Double?)
        /// An enum column as one series per value, labelled with the column's name: 1 for the
        /// row's value, 0 for the others (a value not listed still gets its series).
        case oneHot(column: String, values: [String])

        /// The columns of which the result needs one for the metric to exist; `nil` when any
        /// result will do (a computed value; a `oneHot` whose missing column just gives no
        /// series). An info metric needs its own label columns.
        func columns(labels: [String]) -> [String]? {
            switch self {
            case .column(let column, _): [column]
            case .firstColumn(let columns, _): columns
            case .one: labels.isEmpty ? nil : labels
            case .computed, .oneHot: nil
            }
        }
    }

    /// Name, type and help; its labels are this metric's own, after the query's.
    public let description: MetricDescription
    public let value: Value

    public var name: String { description.name }
    public var help: String { description.help }
    public var type: MetricType { description.type }
    /// Label columns for this metric only, after the query's (an `_info` metric's text).
    public var extraLabels: [String] { description.labels }

    private init(name: String, help: String, type: MetricType, value: Value, extraLabels: [String]) {
        self.description = MetricDescription(name: name, type: type, help: help, labels: extraLabels)
        self.value = value
    }

    /// A metric read from `column`, times `scale`.
    public init(_ name: String, _ type: MetricType, column: String, scale: Double = 1, labels: [String] = [], help: String) {
        self.init(name: name, help: help, type: type, value: .column(column, scale: scale), extraLabels: labels)
    }

    /// A metric read from whichever of `columns` the server returns (a column renamed across
    /// versions, e.g. PgBouncer's `reserve_pool` → `reserve_pool_size`; newest name first).
    public init(_ name: String, _ type: MetricType, columns: [String], scale: Double = 1, labels: [String] = [], help: String) {
        self.init(name: name, help: help, type: type, value: .firstColumn(columns, scale: scale), extraLabels: labels)
    }

    /// A metric computed from the row by `value`.
    public init(_ name: String, _ type: MetricType, labels: [String] = [], help: String, value: @escaping @Sendable (QueryRow) -> Double?) {
        self.init(name: name, help: help, type: type, value: .computed(value), extraLabels: labels)
    }

    /// An info metric: value 1, labelled with `labels` columns.
    public static func info(_ name: String, labels: [String], help: String) -> ColumnMetric {
        ColumnMetric(name: name, help: help, type: .gauge, value: .one, extraLabels: labels)
    }

    /// An enum column as one 0/1 gauge series per value (see ``Value/oneHot(column:values:)``).
    public static func oneHot(_ name: String, column: String, values: [String], labels: [String] = [], help: String) -> ColumnMetric {
        ColumnMetric(name: name, help: help, type: .gauge, value: .oneHot(column: column, values: values), extraLabels: labels)
    }

    /// The label names of this metric's samples, after the query's.
    var ownLabels: [String] {
        if case .oneHot(let column, _) = value { return extraLabels + [column] }
        return extraLabels
    }

    /// How to read this metric from rows of `result`, its columns looked up once.
    func reader(for result: QueryResult) -> ResolvedValue {
        switch value {
        case .column(let column, let scale): .column(result.index(of: column), scale: scale)
        case .firstColumn(let columns, let scale): .column(columns.lazy.compactMap(result.index(of:)).first, scale: scale)
        case .one: .one
        case .computed(let compute): .computed(compute)
        case .oneHot(let column, let values): .oneHot(column: result.index(of: column), name: column, values: values)
        }
    }
}

/// A ``ColumnMetric/Value`` with its columns resolved to positions in one result.
enum ResolvedValue {
    case column(Int?, scale: Double)
    case one
    case computed(@Sendable (QueryRow) -> Double?)
    case oneHot(column: Int?, name: String, values: [String])
}

/// Parses a column's text: numbers as PostgreSQL prints them, booleans `t`/`f` as 1/0.
public func parseNumber(_ text: String) -> Double? {
    if let number = Double(text) { return number }
    switch text {
    case "t", "true", "on": return 1
    case "f", "false", "off": return 0
    default: return nil
    }
}

/// `value × scale`, computed as a division when `scale` is the reciprocal of a whole number
/// (0.001, 1e-6), so that decimal unit changes come out as written: 407137 µs → 0.407137 s,
/// where multiplying by the inexact 1e-6 gives 0.40713699999999997.
func scaled(_ value: Double, by scale: Double) -> Double {
    let divisor = 1 / scale
    return scale < 1 && divisor == divisor.rounded() ? value / divisor : value * scale
}
