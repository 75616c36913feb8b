public import Exposition
public import PostgresClient

/// A collector written as data: for each query, its SQL per server version and a mapping of
/// result columns to labels and metrics. Columns are found by name, so a column added in a
/// later server version never breaks it, and a column missing from an older one only removes
/// that metric.
public struct QueryCollector: Collector {
    public let name: String
    public let targetKind: ServerInfo.Kind
    public let summary: String
    public let queries: [MetricQuery]
    public let scope: CollectorScope
    public let enabledByDefault: Bool

    public init(
        name: String, targetKind: ServerInfo.Kind, summary: String, queries: [MetricQuery],
        scope: CollectorScope = .cluster, enabledByDefault: Bool = true
    ) {
        self.name = name
        self.targetKind = targetKind
        self.summary = summary
        self.queries = queries
        self.scope = scope
        self.enabledByDefault = enabledByDefault
    }

    public var metrics: [MetricDescription] {
        queries.flatMap { query in
            query.metrics.map { MetricDescription(name: $0.name, type: $0.type, help: $0.help, labels: query.labels + $0.ownLabels) }
        }
    }

    /// Runs the queries the server's version and the role's privileges allow: those asked on
    /// every scrape together (``QueryRunner/queries(_:)``: one round trip on PostgreSQL), those
    /// with a ``MetricQuery/refreshInterval`` through the cache. Families come in query order.
    public func collect(from runner: any QueryRunner) async throws -> [MetricFamily] {
        let permitted = try await requirementsMet(runner)
        let chosen = queries.enumerated().compactMap { index, query in
            permitted[index] ? query.sql(forVersion: runner.server.versionNumber).map { (query, $0) } : nil
        }
        let everyScrape = chosen.filter { query, _ in query.refreshInterval == nil }
        var fresh = try await runner.queries(everyScrape.map(\.1)).makeIterator()
        var families: [MetricFamily] = []
        for (query, sql) in chosen {
            let result: QueryResult
            if let interval = query.refreshInterval {
                result = try await runner.query(sql, reusedFor: interval)
            } else if let next = fresh.next() {
                result = next
            } else {
                throw PostgresError(kind: .queryFailed, message: "\(everyScrape.count) statements sent, fewer results returned")
            }
            families += query.families(from: result, options: runner.options)
        }
        return families
    }
}

extension QueryCollector {
    /// How long a server's answer to the queries' requirements (privileges, extensions) is
    /// reused: they change rarely, and asking cost a round trip per collector per scrape.
    public static let requirementsRecheck: Duration = .seconds(60)

    /// Which queries may run: those without a requirement, and those whose requirement the
    /// server confirms — all checked in one round trip, at most once per
    /// ``requirementsRecheck`` per server (a privilege granted or revoked shows within it).
    private func requirementsMet(_ runner: any QueryRunner) async throws -> [Bool] {
        let checks = queries.enumerated().compactMap { index, query in query.requires.map { (index, $0) } }
        var permitted = Array(repeating: true, count: queries.count)
        guard !checks.isEmpty else { return permitted }
        let sql = "SELECT " + checks.enumerated().map { "(\($1.1)) AS r\($0)" }.joined(separator: ", ")
        let result = try await runner.query(sql, reusedFor: Self.requirementsRecheck)
        for (position, check) in checks.enumerated() {
            permitted[check.0] = result.rows.first?[position].flatMap(parseNumber) == 1
        }
        return permitted
    }
}

/// One statement of a ``QueryCollector`` and how its columns become metrics.
public struct MetricQuery: Sendable {
    /// SQL per server version: the variant with the highest ``SQLVariant/minimumVersion`` not
    /// above the server's version runs. No variant applies → the query is skipped.
    public let variants: [SQLVariant]
    /// Columns that become labels, named as the columns are; NULL becomes the empty string.
    public let labels: [String]
    /// Columns that become samples.
    public let metrics: [ColumnMetric]
    /// Rows for which this returns false are skipped (e.g. PgBouncer's own admin database).
    public let keepRow: (@Sendable (QueryRow, CollectorOptions) -> Bool)?
    /// A boolean SQL expression that must hold for the query to run, such as a privilege the
    /// monitoring role may lack (`has_function_privilege('pg_ls_waldir()', 'EXECUTE')`): the
    /// query is skipped, not failed, without it.
    public let requires: String?
    /// For a query that is costly on the server and whose answer changes slowly (database
    /// sizes: `pg_database_size` reads the size of every file of every database): its result
    /// is reused for this long by every scrape of the same server, instead of being asked
    /// again. `nil`: asked on every scrape.
    public let refreshInterval: Duration?

    public init(_ variants: [SQLVariant], labels: [String] = [], metrics: [ColumnMetric],
                requires: String? = nil, refreshInterval: Duration? = nil,
                keepRow: (@Sendable (QueryRow, CollectorOptions) -> Bool)? = nil) {
        self.variants = variants.sorted { $0.minimumVersion < $1.minimumVersion }
        self.labels = labels
        self.metrics = metrics
        self.requires = requires
        self.refreshInterval = refreshInterval
        self.keepRow = keepRow
    }

    /// One SQL text for every supported version.
    public init(sql: String, labels: [String] = [], metrics: [ColumnMetric],
                requires: String? = nil, refreshInterval: Duration? = nil,
                keepRow: (@Sendable (QueryRow, CollectorOptions) -> Bool)? = nil) {
        self.init([SQLVariant(sql)], labels: labels, metrics: metrics, requires: requires,
                  refreshInterval: refreshInterval, keepRow: keepRow)
    }

    /// The SQL to run on a server whose `PQserverVersion` is `version`.
    public func sql(forVersion version: Int) -> String? {
        variants.last { $0.minimumVersion <= version }?.sql
    }

    /// Maps rows to families: one family per metric whose columns the result has, one sample
    /// per kept row whose value is not NULL.
    ///
    /// Column positions are looked up once per result, not per row and label: on a busy server
    /// (thousands of statements or tables) this loop is most of a scrape's CPU.
    public func families(from result: QueryResult, options: CollectorOptions = CollectorOptions()) -> [MetricFamily] {
        let rows = result.rows.indices.map { QueryRow(result: result, index: $0) }.filter { keepRow?($0, options) ?? true }
        let queryLabelColumns = labels.map { result.index(of: $0) }
        var families: [MetricFamily] = []
        for metric in metrics {
            if let columns = metric.value.columns, !columns.contains(where: { result.index(of: $0) != nil }) { continue }
            let labelNames = labels + metric.extraLabels
            let labelColumns = queryLabelColumns + metric.extraLabels.map { result.index(of: $0) }
            let read = metric.reader(for: result)
            var family = MetricFamily(name: metric.name, help: metric.help, type: metric.type)
            family.samples.reserveCapacity(rows.count)
            for row in rows {
                let values = result.rows[row.index]
                var rowLabels: [Label] = []
                rowLabels.reserveCapacity(labelNames.count + 1)
                for (name, column) in zip(labelNames, labelColumns) {
                    rowLabels.append(Label(name, column.flatMap { values[$0] } ?? ""))
                }
                switch read {
                case .oneHot(let column, let name, let known):
                    // NULL (e.g. a standby's receiver status on a primary): no series at all.
                    guard let current = column.flatMap({ values[$0] }) else { continue }
                    for value in known + (known.contains(current) ? [] : [current]) {
                        var labels = rowLabels
                        labels.append(Label(name, value))
                        family.add(current == value ? 1 : 0, labels)
                    }
                case .column(let column, let scale):
                    if let value = column.flatMap({ values[$0] }).flatMap(parseNumber) {
                        family.add(scaled(value, by: scale), rowLabels)
                    }
                case .one:
                    family.add(1, rowLabels)
                case .computed(let compute):
                    if let value = compute(row) { family.add(value, rowLabels) }
                }
            }
            families.append(family)
        }
        return families
    }
}

/// A ``ColumnMetric/Value`` with its columns resolved to positions in one result.
enum ResolvedValue {
    case column(Int?, scale: Double)
    case one
    case computed(@Sendable (QueryRow) -> Double?)
    case oneHot(column: Int?, name: String, values: [String])
}

/// One row of a result, read by column name.
public struct QueryRow: Sendable {
    let result: QueryResult
    let index: Int

    /// The column's text, or `nil` when it is NULL or the server did not return that column.
    public subscript(column: String) -> String? {
        result.index(of: column).flatMap { result.rows[index][$0] }
    }

    /// The column as a number (see ``parseNumber(_:)``), or `nil` when NULL, absent or not numeric.
    public func number(_ column: String) -> Double? {
        self[column].flatMap(parseNumber)
    }
}

/// SQL for servers from `minimumVersion` on (`PQserverVersion` form: 150000 for 15).
public struct SQLVariant: Sendable {
    public let minimumVersion: Int
    public let sql: String

    public init(from minimumVersion: Int = 0, _ sql: String) {
        self.minimumVersion = minimumVersion
        self.sql = sql
    }
}

/// How one metric is read from a query's result.
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

        /// The columns of which the result needs one for the metric to exist; `nil` when the
        /// value is not read from a named column (or, for `oneHot`, when a missing column just
        /// gives no series).
        var columns: [String]? {
            switch self {
            case .column(let column, _): [column]
            case .firstColumn(let columns, _): columns
            case .one, .computed, .oneHot: nil
            }
        }
    }

    public let name: String
    public let help: String
    public let type: MetricType
    public let value: Value
    /// Label columns for this metric only, after the query's (an `_info` metric's text).
    public let extraLabels: [String]

    private init(name: String, help: String, type: MetricType, value: Value, extraLabels: [String]) {
        self.name = name
        self.help = help
        self.type = type
        self.value = value
        self.extraLabels = extraLabels
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
