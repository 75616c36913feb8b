import Collectors
import Yams

/// Reads postgres_exporter's `queries.yaml` (`--extend.query-path`): a mapping of entry name to
/// `query`, `metrics`, `master`, `cache_seconds` and `runonserver`, read as it is.
public enum CustomQueriesFile {
    /// The queries of the file at `path`, each checked.
    /// - Throws: ``ConfigurationError`` naming the file, line and the problem.
    public static func load(path: String) throws -> [CustomQuery] {
        let text: String
        do {
            text = try SecretFile.read(path)
        } catch {
            throw ConfigurationError(file: path, field: Settings.extendQueryPath.field, problem: "\(error)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> [CustomQuery] {
        guard let root = try ConfigurationFile.document(text, file: file) else { return [] }
        let reader = NodeReader(file: file)
        guard let mapping = root.mapping else { throw reader.error(root, "(top level)", "must be a mapping of query name: its query and metrics") }
        var queries: [CustomQuery] = []
        for (key, value) in mapping {
            guard let name = key.string else { throw reader.error(key, "(top level)", "query names must be plain text") }
            queries.append(try reader.customQuery(value, name: name, nameNode: key, path: ShownValue.name(name), native: false))
        }
        try reader.checkUnique(queries, nodes: mapping.map { $0.key })
        return queries
    }
}

extension NodeReader {
    /// The keys of a `queries.yaml` entry, which `custom_queries:` entries take too.
    static let legacyQueryKeys: Set<String> = ["query", "metrics", "master", "cache_seconds", "runonserver"]
    /// What `custom_queries:` entries add.
    static let nativeQueryKeys = legacyQueryKeys.union(["name", "scope", "cache", "timeout", "server_versions"])
    static let columnKeys: Set<String> = ["usage", "description", "metric_mapping", "pg_version"]

    /// A config file's `custom_queries:` list.
    func customQueries(_ node: Node, path: String) throws -> [CustomQuery] {
        let items = try sequence(node, path: path)
        var queries: [CustomQuery] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let nameNode = item.mapping?.first(where: { $0.key.string == "name" })?.value else { throw error(item, "\(itemPath).name", "missing; every custom query needs a name") }
            let name = try string(nameNode, path: "\(itemPath).name")
            queries.append(try customQuery(item, name: name, nameNode: nameNode, path: itemPath, native: true))
        }
        try checkUnique(queries, nodes: items)
        return queries
    }

    /// One entry. `native`: from `custom_queries:`, where the keys postgres_exporter lacks are allowed.
    func customQuery(_ node: Node, name: String, nameNode: Node, path: String, native: Bool) throws -> CustomQuery {
        try checkQueryName(name, node: nameNode, path: path)
        let mapping = try self.mapping(node, path: path, allowed: native ? Self.nativeQueryKeys : Self.legacyQueryKeys)
        guard let queryNode = mapping["query"] else { throw error(node, "\(path).query", "missing; give the SQL to run") }
        guard let metricsNode = mapping["metrics"] else { throw error(node, "\(path).metrics", "missing; list the query's columns") }
        var query = CustomQuery(
            name: name, sql: try sqlVariants(queryNode, path: "\(path).query"), columns: try columns(metricsNode, path: "\(path).metrics"),
            source: "\(file):\(nameNode.mark?.line ?? 0)")
        if let node = mapping["master"] { _ = try boolean(node, path: "\(path).master") }
        query.cache = try cache(mapping, path: path)
        query.serverVersions = try serverVersions(mapping, path: path)
        if let node = mapping["timeout"] { query.timeout = try read(node, path, Settings.customQueryTimeout, Setting.duration) }
        if let node = mapping["scope"] {
            switch try string(node, path: "\(path).scope") {
            case "cluster": query.scope = .cluster
            case "database": query.scope = .database
            case let other: throw error(node, "\(path).scope", "\(ShownValue.quoted(other)) is not a scope; write cluster or database")
            }
        }
        try checkColumns(query, node: metricsNode, path: "\(path).metrics")
        if query.scope == .database, !query.columns.contains(where: { $0.name == "datname" }) {
            // Every database's rows would carry the same labels: label them with their database.
            query.sql = query.sql.map { SQLVariant(from: $0.minimumVersion, Self.withDatabaseLabel($0.sql)) }
            query.columns.insert(CustomQuery.Column(name: "datname", usage: .label, help: ""), at: 0)
        }
        return query
    }

    /// `sql` with a leading `datname` column: `SELECT current_database() AS datname, q.* FROM (sql) AS q`.
    static func withDatabaseLabel(_ sql: String) -> String {
        var text = Substring(sql)
        while let last = text.last, last == ";" || last.isWhitespace { text = text.dropLast() }
        return "SELECT current_database() AS datname, q.* FROM (\n\(text)\n) AS q"
    }

    private func checkQueryName(_ name: String, node: Node, path: String) throws {
        guard Self.isIdentifier(name), name.utf8.count <= 100 else {
            throw error(node, path, "\(ShownValue.quoted(name)) is not a metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*, at most 100 characters)")
        }
        if CollectorCatalog.named(name, for: .postgres) != nil {
            throw error(node, path, "\(ShownValue.quoted(name)) is the name of a built-in collector; pick another")
        }
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return text.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    /// One SQL text, or a mapping of server version (from which it applies) to SQL text.
    private func sqlVariants(_ node: Node, path: String) throws -> [SQLVariant] {
        if node.scalar != nil {
            let sql = try string(node, path: path)
            guard !sql.trimmingWhitespace().isEmpty else { throw error(node, path, "is empty; give the SQL to run") }
            return [SQLVariant(sql)]
        }
        guard let mapping = node.mapping, !mapping.isEmpty else {
            throw error(node, path, "must be the SQL text, or a mapping of server version (from which it runs) to SQL text")
        }
        var variants: [SQLVariant] = []
        for (key, value) in mapping {
            let versionText = try string(key, path: path)
            guard let version = ServerVersionRange.versionNumber(versionText) else {
                throw error(key, "\(path).\(ShownValue.name(versionText))", "is not a server version such as 15 or 16.2")
            }
            let sql = try string(value, path: "\(path).\(versionText)")
            guard !sql.trimmingWhitespace().isEmpty else { throw error(value, "\(path).\(versionText)", "is empty; give the SQL to run") }
            guard !variants.contains(where: { $0.minimumVersion == version }) else {
                throw error(key, "\(path).\(versionText)", "names the same version as another key")
            }
            variants.append(SQLVariant(from: version, sql))
        }
        return variants
    }

    /// `metrics:` — a list of one-key mappings, column → `usage`, `description`, `metric_mapping`.
    private func columns(_ node: Node, path: String) throws -> [CustomQuery.Column] {
        let items = try sequence(node, path: path)
        guard !items.isEmpty else { throw error(node, path, "is empty; list the query's columns") }
        var columns: [CustomQuery.Column] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let pairs = item.mapping, pairs.count == 1, let pair = pairs.first else {
                throw error(item, itemPath, "must be one column: - column_name: {usage: GAUGE, description: …}")
            }
            let (key, value) = (pair.key, pair.value)
            let name = try string(key, path: itemPath)
            let columnPath = "\(itemPath).\(ShownValue.name(name))"
            guard Self.isIdentifier(name), name.utf8.count <= 100 else {
                throw error(key, columnPath, "is not a name a metric or label can take ([a-zA-Z_][a-zA-Z0-9_]*, at most 100 characters); rename the column with AS")
            }
            let fields = try mapping(value, path: columnPath, allowed: Self.columnKeys)
            guard let usageNode = fields["usage"] else { throw error(value, "\(columnPath).usage", "missing; write LABEL, COUNTER, GAUGE, MAPPEDMETRIC, DURATION or DISCARD") }
            let usageText = try string(usageNode, path: "\(columnPath).usage")
            guard let usage = CustomQuery.Usage(rawValue: usageText.uppercased()) else {
                let hint = usageText.uppercased() == "HISTOGRAM" ? "HISTOGRAM columns are not supported; " : ""
                throw error(usageNode, "\(columnPath).usage", "\(hint)\(ShownValue.quoted(usageText)) is not one of LABEL, COUNTER, GAUGE, MAPPEDMETRIC, DURATION, DISCARD")
            }
            var column = CustomQuery.Column(name: name, usage: usage, help: try fields["description"].map { try string($0, path: "\(columnPath).description") } ?? "")
            guard column.help.utf8.count <= 1024 else { throw error(value, "\(columnPath).description", "is longer than 1,024 bytes") }
            if let mappingNode = fields["metric_mapping"] {
                column.mapping = try metricMapping(mappingNode, path: "\(columnPath).metric_mapping")
            }
            if usage == .label, name.hasPrefix("__") || ["target", "collector"].contains(name) {
                throw error(key, columnPath, "cannot be a label: the exporter sets target and collector, and __ names are reserved")
            }
            guard !columns.contains(where: { $0.name == name }) else { throw error(key, columnPath, "is listed twice") }
            columns.append(column)
        }
        return columns
    }

    private func metricMapping(_ node: Node, path: String) throws -> [String: Double] {
        guard let pairs = node.mapping else { throw error(node, path, "must be a mapping of text: number") }
        var mapping: [String: Double] = [:]
        for (key, value) in pairs {
            let text = try string(key, path: path)
            let numberText = try string(value, path: "\(path).\(ShownValue.name(text))")
            guard let number = Double(numberText), number.isFinite else {
                throw error(value, "\(path).\(ShownValue.name(text))", "\(ShownValue.quoted(numberText)) is not a finite number")
            }
            mapping[text] = number
        }
        return mapping
    }

    /// A query must export something.
    private func checkColumns(_ query: CustomQuery, node: Node, path: String) throws {
        guard query.columns.contains(where: { ![.label, .discard].contains($0.usage) }) else {
            throw error(node, path, "has no column that becomes a metric (COUNTER, GAUGE, MAPPEDMETRIC or DURATION)")
        }
    }

    private func cache(_ mapping: [String: Node], path: String) throws -> Duration? {
        if let node = mapping["cache"], mapping["cache_seconds"] != nil { throw error(node, path, "has cache and cache_seconds; keep one") }
        if let node = mapping["cache"] { return try read(node, path, Settings.customQueryCache, Setting.duration) }
        guard let node = mapping["cache_seconds"] else { return nil }
        let seconds = try read(node, path, Settings.cacheSeconds, Setting.wholeNumber)
        return seconds == 0 ? nil : .seconds(seconds)
    }

    private func serverVersions(_ mapping: [String: Node], path: String) throws -> ServerVersionRange? {
        if mapping["server_versions"] != nil, let node = mapping["runonserver"] {
            throw error(node, path, "has server_versions and runonserver; keep one")
        }
        guard let key = ["server_versions", "runonserver"].first(where: { mapping[$0] != nil }), let node = mapping[key] else { return nil }
        let text = try string(node, path: "\(path).\(key)")
        do {
            return try ServerVersionRange(text)
        } catch let problem {
            throw error(node, "\(path).\(key)", problem.message)
        }
    }

    /// Two queries whose metrics share a name would merge into one family (and lose series).
    func checkUnique(_ queries: [CustomQuery], nodes: [Node]) throws {
        var owners: [String: String] = [:]
        for (query, node) in zip(queries, nodes) {
            for metric in query.metricNames {
                if let other = owners[metric] {
                    throw error(node, ShownValue.name(query.name), "makes the metric \(metric), as \(other) does; rename a column or the query")
                }
                owners[metric] = query.name
            }
        }
    }
}
