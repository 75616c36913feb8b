import Collectors
import Foundation
import PostgresClient
import Yams

/// Reads the YAML configuration file (`--config.file`):
///
/// ```yaml
/// scrape_timeout: 10s            # used when the scraper sends no timeout header
/// defaults:                      # for every target, unless it overrides them
///   collector_timeout: 5s
///   max_connections: 1
///   options:                     # what collectors read (CollectorOptions)
///     include_admin_database: false
/// targets:
///   - name: primary
///     kind: postgres             # or pgbouncer
///     dsn_file: /run/secrets/primary.dsn   # or dsn: "host=… user=…"
///     collectors: [server, connections]    # optional; default: all of that kind
/// ```
///
/// The file is walked as a YAML node tree (Yams) rather than decoded with `Codable`, so that
/// every error can name its line, and unknown keys (typos) are errors rather than ignored.
public enum ConfigurationFile {
    /// Loads and validates the file at `path`. `base` holds the command line's settings, which
    /// the file's overrides.
    /// - Throws: ``ConfigurationError`` naming the file, line and field.
    public static func load(path: String, base: ExporterConfiguration, baseLimits: TargetLimits) throws -> ExporterConfiguration {
        let text: String
        do {
            text = try SecretFile.read(path)
        } catch {
            throw ConfigurationError(file: path, field: "--config.file", problem: "\(error)")
        }
        return try parse(text, file: path, base: base, baseLimits: baseLimits)
    }

    /// Parses configuration text (see ``load(path:base:baseLimits:)``).
    public static func parse(_ text: String, file: String, base: ExporterConfiguration, baseLimits: TargetLimits) throws -> ExporterConfiguration {
        guard let root = try document(text, file: file) else {
            throw ConfigurationError(file: file, field: "targets", problem: "the file is empty; it must list at least one target")
        }
        let reader = NodeReader(file: file)
        let top = try reader.mapping(root, path: "(top level)", allowed: NodeReader.keys(Settings.scrapeTimeout, Settings.scrapeTimeoutOffset).union(["defaults", "targets"]))
        var configuration = base
        if let node = top[Settings.scrapeTimeout] {
            configuration.defaultScrapeTimeout = try reader.read(node, "", Settings.scrapeTimeout, Setting.duration)
        }
        if let node = top[Settings.scrapeTimeoutOffset] {
            configuration.scrapeTimeoutOffset = try reader.read(node, "", Settings.scrapeTimeoutOffset, Setting.duration)
        }
        var defaults = baseLimits
        var defaultOptions = CollectorOptions()
        var defaultQueries = base.customQueries
        if let node = top["defaults"] {
            let mapping = try reader.mapping(node, path: "defaults", allowed: NodeReader.limitKeys.union(["options", "custom_queries"]))
            defaults = try reader.limits(mapping, path: "defaults", base: baseLimits)
            if let options = mapping["options"] {
                defaultOptions = try reader.options(options, path: "defaults.options", base: defaultOptions)
            }
            if let queries = mapping["custom_queries"] {
                defaultQueries = try reader.merged(defaultQueries, try reader.customQueries(queries, path: "defaults.custom_queries"), node: queries)
            }
        }
        guard let targetsNode = top["targets"] else {
            throw ConfigurationError(file: file, line: root.mark?.line, field: "targets", problem: "missing; list at least one target")
        }
        let list = try reader.sequence(targetsNode, path: "targets")
        guard !list.isEmpty else {
            throw reader.error(targetsNode, "targets", "is empty; list at least one target")
        }
        var targets: [TargetConfiguration] = []
        for (index, node) in list.enumerated() {
            let target = try reader.target(
                node, path: "targets[\(index)]", defaults: defaults, defaultOptions: defaultOptions, defaultQueries: defaultQueries,
                disabled: base.disabledCollectors)
            if targets.contains(where: { $0.name == target.name }) {
                throw reader.error(node, "targets[\(index)].name", "\(ShownValue.quoted(target.name)) is used by another target; names must be unique")
            }
            targets.append(target)
        }
        configuration.targets = targets
        return configuration
    }

    /// The YAML node tree of `text` (`nil` for an empty document), aliases limited; a syntax
    /// error names the line, never the text.
    static func document(_ text: String, file: String) throws(ConfigurationError) -> Node? {
        try checkAliases(text, file: file)
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw ConfigurationError(file: file, field: "YAML", problem: "the file cannot be read as YAML")
        }
    }

    /// The most YAML aliases (`*name`) a file may use. Each alias copies what its anchor holds,
    /// so a few lines of nested aliases ("billion laughs") would expand into billions of nodes
    /// while the file is read; a configuration never needs many.
    static let maximumAliases = 16

    /// Refuses a file with more than ``maximumAliases`` aliases (counted in the text: an
    /// alias starts a value, after a space, a line start or `[`, `{`, `,`).
    static func checkAliases(_ text: String, file: String) throws(ConfigurationError) {
        var count = 0
        var previous: Character = "\n"
        for character in text {
            if character == "*", previous.isWhitespace || "[{,".contains(previous) { count += 1 }
            previous = character
        }
        guard count <= maximumAliases else {
            throw ConfigurationError(file: file, field: "YAML", problem: "uses \(count) aliases (*name); at most \(maximumAliases) are allowed")
        }
    }

    /// A YAML error as file, line, column and libyaml's short problem text: never the
    /// document, which may hold passwords (Yams' own descriptions quote it).
    static func syntaxError(_ error: YamlError, file: String) -> ConfigurationError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigurationError(file: file, line: mark.line, column: mark.column, field: "YAML", problem: problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { ShownValue.quoted($0) }.joined(separator: ", ")
            return ConfigurationError(
                file: file, line: context.mark.line, column: context.mark.column, field: "YAML", problem: "key written more than once: \(keys)")
        case .reader(let problem, _, _, _):
            return ConfigurationError(file: file, field: "YAML", problem: problem)
        case .dataCouldNotBeDecoded:
            return ConfigurationError(file: file, field: "YAML", problem: "the file is not valid text")
        default:
            return ConfigurationError(file: file, field: "YAML", problem: "the file cannot be read as YAML")
        }
    }
}

/// Typed reads from the YAML tree, each failing with the node's line.
struct NodeReader {
    let file: String

    static let limitKeys = keys(Settings.targetLimits)
    static let targetKeys: Set<String> = limitKeys.union([
        "name", "kind", "dsn", "dsn_file", "dsn_env", "password_file", "password_env", "collectors", "enable", "options",
        "in_metrics", "databases", "labels", "custom_queries",
    ])
    static let optionKeys = keys(Settings.collectorOptions)

    /// The config file keys of `settings`.
    static func keys(_ settings: [Setting]) -> Set<String> {
        Set(settings.compactMap(\.fileKey))
    }

    static func keys(_ settings: Setting...) -> Set<String> {
        keys(settings)
    }

    func error(_ node: Node, _ path: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node.mark?.line, column: node.mark?.column, field: path, problem: problem)
    }

    func mapping(_ node: Node, path: String, allowed: Set<String>) throws -> [String: Node] {
        guard let mapping = node.mapping else { throw error(node, path, "must be a mapping of key: value") }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error(key, path, "keys must be plain text") }
            guard allowed.contains(name) else {
                throw error(key, path == "(top level)" ? ShownValue.name(name) : "\(path).\(ShownValue.name(name))",
                            "unknown setting; expected one of \(allowed.sorted().joined(separator: ", "))")
            }
            result[name] = value
        }
        return result
    }

    func sequence(_ node: Node, path: String) throws -> [Node] {
        guard let sequence = node.sequence else { throw error(node, path, "must be a list") }
        return Array(sequence)
    }

    func string(_ node: Node, path: String) throws -> String {
        guard let scalar = node.scalar else { throw error(node, path, "must be a single value") }
        return scalar.string
    }

    /// A true or false value outside the settings table (the web config file's).
    func boolean(_ node: Node, path: String) throws -> Bool {
        let text = try string(node, path: path)
        do {
            return try Setting.boolean(text)
        } catch {
            throw self.error(node, path, error.text)
        }
    }

    /// The setting's value at `node`, parsed by `parse` (``Setting/duration(_:)`` and its
    /// kin); an error names `parent.key` and the node's line.
    func read<Value>(_ node: Node, _ parent: String, _ setting: Setting,
                     _ parse: (Setting) -> (String) throws(SettingProblem) -> Value) throws -> Value {
        let path = parent.isEmpty ? setting.fileKey ?? "" : "\(parent).\(setting.fileKey ?? "")"
        let text = try string(node, path: path)
        do {
            return try parse(setting)(text)
        } catch {
            throw self.error(node, path, error.text)
        }
    }

    func options(_ node: Node, path: String, base: CollectorOptions) throws -> CollectorOptions {
        let mapping = try self.mapping(node, path: path, allowed: Self.optionKeys)
        var options = base
        if let node = mapping[Settings.includeAdminDatabase] {
            options.includeAdminDatabase = try read(node, path, Settings.includeAdminDatabase, Setting.boolean)
        }
        if let node = mapping[Settings.activityLabels] {
            // `choice` accepts only the labels' raw values, so none is dropped here.
            options.activityLabels = try sequence(node, path: "\(path).activity_labels").compactMap { item in
                CollectorOptions.ActivityLabel(rawValue: try read(item, path, Settings.activityLabels, Setting.choice))
            }
        }
        if let node = mapping[Settings.activityLabelsLimit] {
            options.activityLabelsLimit = try read(node, path, Settings.activityLabelsLimit, Setting.wholeNumber)
        }
        if let node = mapping[Settings.statementsTopN] {
            options.statementsTopN = try read(node, path, Settings.statementsTopN, Setting.wholeNumber)
        }
        if let node = mapping[Settings.statementsSlowThreshold] {
            options.statementsSlowThreshold = DurationText.seconds(try read(node, path, Settings.statementsSlowThreshold, Setting.duration))
        }
        if let node = mapping[Settings.statementsIncludeQuery] {
            options.statementsIncludeQuery = try read(node, path, Settings.statementsIncludeQuery, Setting.boolean)
        }
        if let node = mapping[Settings.statementsQueryLength] {
            options.statementsQueryLength = try read(node, path, Settings.statementsQueryLength, Setting.wholeNumber)
        }
        if let node = mapping[Settings.unusedIndexesTopN] {
            options.unusedIndexesTopN = try read(node, path, Settings.unusedIndexesTopN, Setting.wholeNumber)
        }
        return options
    }

    func limits(_ mapping: [String: Node], path: String, base: TargetLimits) throws -> TargetLimits {
        var limits = base
        if let node = mapping[Settings.maxConnections] { limits.maxConnections = try read(node, path, Settings.maxConnections, Setting.wholeNumber) }
        if let node = mapping[Settings.collectorTimeout] { limits.collectorTimeout = try read(node, path, Settings.collectorTimeout, Setting.duration) }
        if let node = mapping[Settings.lockTimeout] { limits.lockTimeout = try read(node, path, Settings.lockTimeout, Setting.duration) }
        if let node = mapping[Settings.connectTimeout] { limits.connectTimeout = try read(node, path, Settings.connectTimeout, Setting.duration) }
        if let node = mapping[Settings.connectionMaxAge] { limits.connectionMaxAge = try read(node, path, Settings.connectionMaxAge, Setting.duration) }
        if let node = mapping[Settings.maxSeries] { limits.maxSeries = try read(node, path, Settings.maxSeries, Setting.wholeNumber) }
        if let node = mapping[Settings.connectionIdleTimeout] {
            limits.connectionIdleTimeout = try read(node, path, Settings.connectionIdleTimeout, Setting.duration)
        }
        if let node = mapping[Settings.checkTimeout] { limits.checkTimeout = try read(node, path, Settings.checkTimeout, Setting.duration) }
        return limits
    }

    func target(
        _ node: Node, path: String, defaults: TargetLimits, defaultOptions: CollectorOptions, defaultQueries: [CustomQuery], disabled: Set<String>
    ) throws -> TargetConfiguration {
        let mapping = try self.mapping(node, path: path, allowed: Self.targetKeys)
        guard let nameNode = mapping["name"] else { throw error(node, "\(path).name", "missing; every target needs a name") }
        let name = try string(nameNode, path: "\(path).name")
        guard TargetName.isValid(name) else {
            throw error(nameNode, "\(path).name", "\(ShownValue.quoted(name)) is not a valid name (letters, digits, '_', '-', '.'; at most 64)")
        }
        guard let kindNode = mapping["kind"] else { throw error(node, "\(path).kind", "missing; write kind: postgres or kind: pgbouncer") }
        let kindText = try string(kindNode, path: "\(path).kind")
        guard let kind = ServerInfo.Kind(rawValue: kindText) else {
            throw error(kindNode, "\(path).kind", "\(ShownValue.quoted(kindText)) is not a kind; write postgres or pgbouncer")
        }
        let connectionString = try dsn(mapping, node: node, path: path, kind: kind)
        var collectors = try mapping["collectors"].map { try collectorList($0, path: "\(path).collectors", kind: kind) }
        if let enableNode = mapping["enable"] {
            if collectors != nil { throw error(enableNode, "\(path).enable", "has no effect with collectors: list the collectors there instead") }
            let extra = try collectorList(enableNode, path: "\(path).enable", kind: kind)
            collectors = CollectorCatalog.defaults(for: kind).filter { !disabled.contains($0.name) }
                + extra.filter { wanted in !CollectorCatalog.defaults(for: kind).contains { $0.name == wanted.name } }
        }
        let limits = try self.limits(mapping, path: path, base: defaults)
        let options = try mapping["options"].map { try self.options($0, path: "\(path).options", base: defaultOptions) } ?? defaultOptions
        var target = TargetConfiguration(
            name: name, kind: kind, connectionString: connectionString, collectors: collectors, disabled: disabled,
            limits: limits, options: options)
        if let node = mapping["in_metrics"] { target.inMetrics = try read(node, path, Settings.inMetrics, Setting.boolean) }
        if let node = mapping["databases"] { target.databases = try discovery(node, path: "\(path).databases") }
        if let node = mapping["labels"] { target.labels = try labels(node, path: "\(path).labels") }
        var queries = defaultQueries
        if let node = mapping["custom_queries"] {
            guard kind == .postgres else { throw error(node, "\(path).custom_queries", "custom queries run on PostgreSQL targets only") }
            queries = try merged(queries, try customQueries(node, path: "\(path).custom_queries"), node: node)
        }
        if kind == .postgres { target.collectors += queries.map(\.collector) }
        return target
    }

    /// `inherited` with `own` added; an own query named like an inherited one replaces it.
    func merged(_ inherited: [CustomQuery], _ own: [CustomQuery], node: Node) throws -> [CustomQuery] {
        let queries = inherited.filter { query in !own.contains { $0.name == query.name } } + own
        try checkUnique(queries, nodes: Array(repeating: node, count: queries.count))
        return queries
    }

    func collectorList(_ node: Node, path: String, kind: ServerInfo.Kind) throws -> [Collector] {
        let items = try sequence(node, path: path)
        guard !items.isEmpty else { throw error(node, path, "is empty; leave it out for every default collector, or name at least one") }
        return try items.map { item in
            let collectorName = try string(item, path: path)
            guard let collector = CollectorCatalog.named(collectorName, for: kind) else {
                throw error(item, path, "no \(kind.rawValue) collector \(ShownValue.quoted(collectorName)); available: \(CollectorCatalog.names(for: kind).joined(separator: ", "))")
            }
            return collector
        }
    }

    /// Labels given to a target for service discovery: Prometheus label names, not the ones
    /// the exporter sets (`target`, `kind`) nor reserved ones (`__…`); values up to 1,024 bytes.
    func labels(_ node: Node, path: String) throws -> [(name: String, value: String)] {
        guard let mapping = node.mapping else { throw error(node, path, "must be a mapping of label: value") }
        var labels: [(name: String, value: String)] = []
        for (key, value) in mapping {
            guard let name = key.string else { throw error(key, path, "label names must be plain text") }
            let valid = name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) } && name.utf8.count <= 128
            guard valid, !name.hasPrefix("__"), !["target", "kind", "job", "instance"].contains(name) else {
                throw error(key, "\(path).\(ShownValue.name(name))",
                            "is not a label name a target may set ([a-zA-Z_][a-zA-Z0-9_]*, not __…, target, kind, job or instance)")
            }
            let text = try string(value, path: "\(path).\(name)")
            guard text.utf8.count <= 1024 else { throw error(value, "\(path).\(name)", "is longer than 1,024 bytes") }
            labels.append((name, text))
        }
        return labels.sorted { $0.name < $1.name }
    }

    func discovery(_ node: Node, path: String) throws -> DatabaseDiscovery {
        let mapping = try self.mapping(node, path: path, allowed: Self.keys(Settings.discoveryRefresh, Settings.discoveryMaxConnections).union(["include", "exclude"]))
        var discovery = DatabaseDiscovery()
        for key in ["include", "exclude"] {
            guard let list = mapping[key] else { continue }
            let patterns = try sequence(list, path: "\(path).\(key)").map { item in
                let pattern = try string(item, path: "\(path).\(key)")
                guard (try? Regex(pattern)) != nil else { throw error(item, "\(path).\(key)", "\(ShownValue.quoted(pattern)) is not a regular expression") }
                return pattern
            }
            if key == "include" { discovery.include = patterns } else { discovery.exclude = patterns }
        }
        if let node = mapping[Settings.discoveryRefresh] { discovery.refresh = try read(node, path, Settings.discoveryRefresh, Setting.duration) }
        if let node = mapping[Settings.discoveryMaxConnections] {
            discovery.maxConnections = try read(node, path, Settings.discoveryMaxConnections, Setting.wholeNumber)
        }
        return discovery
    }

    private func dsn(_ mapping: [String: Node], node: Node, path: String, kind: ServerInfo.Kind) throws -> ConnectionString {
        let given = ["dsn", "dsn_file", "dsn_env"].filter { mapping[$0] != nil }
        guard given.count == 1, let key = given.first, let fieldNode = mapping[key] else {
            throw error(node, given.isEmpty ? "\(path).dsn" : path,
                        given.isEmpty ? "missing; give dsn, dsn_file or dsn_env" : "has \(given.joined(separator: " and ")); keep one")
        }
        let field = "\(path).\(key)"
        let text = try secret(key == "dsn" ? .inline : key == "dsn_file" ? .file : .environment, fieldNode, field)
        var connectionString: ConnectionString
        do {
            connectionString = try TargetConnectionString.make(text, kind: kind)
        } catch let problem {
            throw error(fieldNode, field, problem.message)
        }
        let passwords = ["password_file", "password_env"].filter { mapping[$0] != nil }
        if passwords.count > 1 { throw error(node, path, "has password_file and password_env; keep one") }
        if let key = passwords.first, let passwordNode = mapping[key] {
            let password = try secret(key == "password_file" ? .file : .environment, passwordNode, "\(path).\(key)")
            connectionString = connectionString.withPassword(password)
        }
        return connectionString
    }

    private enum SecretSource { case inline, file, environment }

    /// A DSN or password: written inline, read from a file (trimmed), or from an environment
    /// variable. The error names the file or variable, never the value.
    private func secret(_ source: SecretSource, _ node: Node, _ field: String) throws -> String {
        let reference = try string(node, path: field)
        switch source {
        case .inline:
            return reference
        case .file:
            do {
                return try SecretFile.read(reference)
            } catch {
                throw self.error(node, field, "cannot read \(ShownValue.path(reference)): \(error)")
            }
        case .environment:
            guard let value = ProcessInfo.processInfo.environment[reference], !value.isEmpty else {
                throw self.error(node, field, "the environment variable \(ShownValue.quoted(reference)) is not set")
            }
            return value
        }
    }
}

/// Secrets kept in files (Kubernetes secrets, Docker secrets): the whole file, trimmed.
public enum SecretFile {
    /// Why a secret file could not be read (the path and the system's reason, never content).
    public struct Unreadable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The largest file read: a secret, a configuration or a web config is far smaller, and
    /// `/dev/zero` or a log file named by mistake must not fill the memory.
    public static let maximumBytes = 1 << 20

    public static func read(_ path: String) throws -> String {
        try requireRegularFile(path)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Unreadable(description: "cannot open the file (missing, or not readable by this user)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumBytes + 1) ?? Data()
        } catch {
            throw Unreadable(description: "cannot read the file: \(error.localizedDescription)")
        }
        guard data.count <= maximumBytes else { throw Unreadable(description: "the file is larger than 1 MiB") }
        guard let text = String(data: data, encoding: .utf8) else { throw Unreadable(description: "the file is not UTF-8 text") }
        guard !text.contains("\u{0}") else { throw Unreadable(description: "the file holds a NUL byte") }
        return text.trimmingWhitespace()
    }

    /// Throws unless `path` names a regular file: opening a FIFO would block the start forever,
    /// and a directory or a device is never what was meant.
    public static func requireRegularFile(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Unreadable(description: "cannot open the file (missing, or not readable by this user)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let kind = info.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file (a FIFO, socket or device)"
            throw Unreadable(description: "the path is \(kind)")
        }
    }
}

/// Rules for target names: they appear in labels and URLs.
public enum TargetName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }
}

/// Checks a DSN for a target of a given kind (shared by the file and the command line).
public enum TargetConnectionString {
    /// Why a DSN was refused; never quotes the DSN.
    public struct Problem: Error {
        public let message: String
    }

    public static func make(_ text: String, kind: ServerInfo.Kind) throws(Problem) -> ConnectionString {
        guard !text.isEmpty else { throw Problem(message: "is empty") }
        let connectionString: ConnectionString
        do {
            connectionString = try ConnectionString(text)
        } catch {
            throw Problem(message: (error as? PostgresError)?.message ?? "invalid connection string")
        }
        if kind == .pgbouncer && !connectionString.namesAdminConsole {
            throw Problem(message: "a pgbouncer target must connect to the admin console: set dbname=pgbouncer")
        }
        return connectionString
    }
}

extension Dictionary where Key == String {
    /// The value under the setting's config file key.
    subscript(_ setting: Setting) -> Value? {
        setting.fileKey.flatMap { self[$0] }
    }
}
