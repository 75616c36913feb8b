public import Exposition
public import PostgresClient

/// One statement of a ``Collector`` and how its columns become metrics.
public struct MetricQuery: Sendable {
    /// SQL per server version for the target's options: the variant with the highest
    /// ``SQLVariant/minimumVersion`` not above the server's version runs. No variant applies →
    /// the query is skipped (a view this version lacks, an option that is off).
    let variants: @Sendable (CollectorOptions) -> [SQLVariant]
    /// Columns that become labels, named as the columns are; NULL becomes the empty string.
    public let labels: [String]
    /// Label columns the options add after ``labels`` (the columns sessions are counted by).
    let optionLabels: (@Sendable (CollectorOptions) -> [String])?
    /// Columns that become samples.
    public let metrics: [ColumnMetric]
    /// Rows for which this returns false are skipped (e.g. PgBouncer's own admin database).
    let keepRow: (@Sendable (QueryRow, CollectorOptions) -> Bool)?
    /// A boolean SQL expression that must hold for the query to run, such as a privilege the
    /// monitoring role may lack (`has_function_privilege('pg_ls_waldir()', 'EXECUTE')`): the
    /// query is skipped, not failed, without it.
    public let requires: String?
    /// For a query that is costly on the server and whose answer changes slowly (database
    /// sizes: `pg_database_size` reads the size of every file of every database): its result
    /// is reused for this long by every scrape of the same server, instead of being asked
    /// again. `nil`: asked on every scrape.
    public let refreshInterval: Duration?
    /// For a result of (key, value) rows rather than one row per entity (PgBouncer's
    /// `SHOW LISTS`): the rows are read as one row whose columns are the keys.
    public let keyValue: KeyValueColumns?
    /// The result to use when the server answers with no rows (PgBouncer up to 1.11 answers
    /// `SHOW VERSION` with a notice only; its version is then in the startup parameters).
    let whenEmpty: (@Sendable (ServerInfo) -> QueryResult)?
    /// The server versions the query runs on besides what its variants allow (a custom
    /// query's range); `nil`: every version a variant covers.
    let serverVersions: ServerVersionRange?
    /// Columns the result must have, or the query fails naming the first one missing: a
    /// custom query declares its columns, and a typo must not pass as an empty result.
    let requiredColumns: [String]

    /// SQL that depends on the server version and on the target's options.
    public init(options variants: @escaping @Sendable (CollectorOptions) -> [SQLVariant], labels: [String] = [],
                optionLabels: (@Sendable (CollectorOptions) -> [String])? = nil, metrics: [ColumnMetric],
                requires: String? = nil, refreshInterval: Duration? = nil, keyValue: KeyValueColumns? = nil,
                keepRow: (@Sendable (QueryRow, CollectorOptions) -> Bool)? = nil,
                whenEmpty: (@Sendable (ServerInfo) -> QueryResult)? = nil,
                serverVersions: ServerVersionRange? = nil, requiredColumns: [String] = []) {
        self.variants = variants
        self.labels = labels
        self.optionLabels = optionLabels
        self.metrics = metrics
        self.requires = requires
        self.refreshInterval = refreshInterval
        self.keyValue = keyValue
        self.keepRow = keepRow
        self.whenEmpty = whenEmpty
        self.serverVersions = serverVersions
        self.requiredColumns = requiredColumns
    }

    /// SQL per server version.
    public init(_ variants: [SQLVariant], labels: [String] = [], metrics: [ColumnMetric],
                requires: String? = nil, refreshInterval: Duration? = nil, keyValue: KeyValueColumns? = nil,
                keepRow: (@Sendable (QueryRow, CollectorOptions) -> Bool)? = nil,
                whenEmpty: (@Sendable (ServerInfo) -> QueryResult)? = nil) {
        self.init(options: { _ in variants }, labels: labels, metrics: metrics, requires: requires,
                  refreshInterval: refreshInterval, keyValue: keyValue, keepRow: keepRow, whenEmpty: whenEmpty)
    }

    /// One SQL text (or console command) for every supported version.
    public init(sql: String, labels: [String] = [], metrics: [ColumnMetric],
                requires: String? = nil, refreshInterval: Duration? = nil, keyValue: KeyValueColumns? = nil,
                keepRow: (@Sendable (QueryRow, CollectorOptions) -> Bool)? = nil,
                whenEmpty: (@Sendable (ServerInfo) -> QueryResult)? = nil) {
        self.init([SQLVariant(sql)], labels: labels, metrics: metrics, requires: requires,
                  refreshInterval: refreshInterval, keyValue: keyValue, keepRow: keepRow, whenEmpty: whenEmpty)
    }

    /// The SQL to run on a server whose `PQserverVersion` is `version`, for these options.
    public func sql(forVersion version: Int, options: CollectorOptions = CollectorOptions()) -> String? {
        if let serverVersions, !serverVersions.contains(version) { return nil }
        return variants(options).filter { $0.minimumVersion <= version }.max { $0.minimumVersion < $1.minimumVersion }?.sql
    }

    /// The label columns of every metric of this query, for these options.
    func labels(with options: CollectorOptions) -> [String] {
        labels + (optionLabels?(options) ?? [])
    }

    /// Maps rows to families: one family per metric whose columns the result has, one sample
    /// per kept row whose value is not NULL.
    /// - Throws: ``PostgresError`` when a ``keyValue`` result lacks its key or value column
    ///   (not the command's result at all), or the result lacks one of ``requiredColumns``,
    ///   so the collector reports a failure, not nothing.
    public func families(from result: QueryResult, options: CollectorOptions = CollectorOptions()) throws -> [MetricFamily] {
        let result = try keyValue.map { try $0.asOneRow(result) } ?? result
        if let missing = requiredColumns.first(where: { result.index(of: $0) == nil }) {
            throw PostgresError(
                kind: .queryFailed,
                message: "the result has no column \"\(missing)\" (it has \(result.columns.map { "\"\($0)\"" }.joined(separator: ", ")))")
        }
        // Column positions are looked up once per result, not per row: on a busy server
        // (thousands of statements or tables) this loop is most of a scrape's CPU.
        let rows = result.rows.indices.map { QueryRow(result: result, index: $0) }.filter { keepRow?($0, options) ?? true }
        let queryLabels = labels(with: options)
        let queryLabelColumns = queryLabels.map { result.index(of: $0) }
        var families: [MetricFamily] = []
        for metric in metrics {
            if let columns = metric.value.columns(labels: metric.extraLabels), !columns.contains(where: { result.index(of: $0) != nil }) {
                continue
            }
            let labelNames = queryLabels + metric.extraLabels
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

/// The key and value columns of a (key, value) result (``MetricQuery/keyValue``).
public struct KeyValueColumns: Sendable {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// One row whose columns are the keys: rows with a NULL key or value are left out (so a key
    /// an older version lacks, or that has no value, only removes its metric), and the first of
    /// repeated keys wins.
    func asOneRow(_ result: QueryResult) throws -> QueryResult {
        guard let keyIndex = result.index(of: key), let valueIndex = result.index(of: value) else {
            throw PostgresError(kind: .queryFailed, message: "the result has columns \(result.columns), not \(key) and \(value)")
        }
        var keys: [String] = []
        var values: [String?] = []
        var seen = Set<String>()
        for row in result.rows {
            guard let key = row[keyIndex], let value = row[valueIndex], seen.insert(key).inserted else { continue }
            keys.append(key)
            values.append(value)
        }
        return QueryResult(columns: keys, rows: [values])
    }
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
