import Collectors
import Exporter
import ExporterHTTP
import Hummingbird
import HummingbirdCore

/// The command line and environment turned into checked settings. Every error names the flag
/// (and its environment variable) or the config file line, and never repeats a DSN.
struct StartupSettings {
    let configuration: ExporterConfiguration
    /// The config file, read again on reload (`nil`: targets from flags or the environment).
    let configFile: String?
    /// The command line's settings and limits, which the file overrides (at start and on reload).
    let base: ExporterConfiguration
    let baseLimits: TargetLimits
    /// Whether `POST /-/reload` is served (`--web.enable-lifecycle`).
    let enableLifecycle: Bool
    let listenAddress: ListenAddress
    let telemetryPath: String
    /// Open HTTP connections at most.
    let maxHTTPConnections: Int
    /// TLS and basic auth (empty when no `--web.config.file`).
    let web: WebConfiguration
    /// The HTTP server, with TLS when configured (certificates loaded and checked here).
    let server: HTTPServerBuilder

    init(_ command: PgstackExporterCommand) throws {
        let addressText = Self.text(Settings.listenAddress, command.listenAddress)
        guard let address = ListenAddress(addressText) else {
            throw ConfigurationError(field: Settings.listenAddress.field, problem: "\(ShownValue.quoted(addressText)) is not host:port")
        }
        listenAddress = address
        telemetryPath = try Self.telemetryPath(Self.text(Settings.telemetryPath, command.telemetryPath))
        let maxRequests = try Self.read(Settings.maxRequests, command.maxRequests, Setting.wholeNumber)
        maxHTTPConnections = try Self.read(Settings.maxHTTPConnections, command.maxHTTPConnections, Setting.wholeNumber)
        let idleTimeout = try Self.read(Settings.idleTimeout, command.idleTimeout, Setting.duration)
        // A flag (given or not) on the command line; its environment variable, when set, says true or false.
        let lifecycleVariable = Self.text(Settings.enableLifecycle, nil)
        enableLifecycle = try command.enableLifecycle || (!lifecycleVariable.isEmpty && Self.read(Settings.enableLifecycle, nil, Setting.boolean))
        let webConfigFile = Self.text(Settings.webConfigFile, command.webConfigFile)
        web = webConfigFile.isEmpty ? WebConfiguration() : try WebConfiguration.load(path: webConfigFile)
        server = try WebSecurity.server(web, file: webConfigFile, http: HTTPLimits.channel(idleTimeout: idleTimeout))

        var limits = TargetLimits()
        limits.collectorTimeout = try Self.read(Settings.collectorTimeout, command.collectorTimeout, Setting.duration)
        limits.connectTimeout = try Self.read(Settings.connectTimeout, command.connectTimeout, Setting.duration)
        limits.maxConnections = try Self.read(Settings.maxConnections, command.maxConnections, Setting.wholeNumber)

        var base = ExporterConfiguration(targets: [])
        base.maxRequestsStartingWork = maxRequests
        base.disabledCollectors = try Self.collectorNames(Self.text(Settings.disabledCollectors, command.disabledCollectors))
        base.defaultScrapeTimeout = try Self.read(Settings.scrapeTimeout, command.scrapeTimeout, Setting.duration)
        base.scrapeTimeoutOffset = try Self.read(Settings.scrapeTimeoutOffset, command.scrapeTimeoutOffset, Setting.duration)
        let queryFile = Self.text(Settings.extendQueryPath, command.extendQueryPath)
        if !queryFile.isEmpty {
            base.queryFile = queryFile
            base.customQueries = try CustomQueriesFile.load(path: queryFile)
        }

        // DSNs are secrets: read from the environment here, never as a flag's default (which
        // --help would print).
        let dsn = try command.dsn ?? Self.secret(Settings.dsn)
        let pgbouncerDSN = try command.pgbouncerDSN ?? Self.secret(Settings.pgbouncerDSN)
        self.base = base
        baseLimits = limits
        configFile = Settings.configFile.text(flagValue: command.configFile)
        if let file = configFile {
            if dsn != nil || pgbouncerDSN != nil {
                throw ConfigurationError(
                    field: "--config.file", problem: "give targets either in the file or with DATA_SOURCE_NAME/PGBOUNCER_DSN (--dsn/--pgbouncer-dsn), not both")
            }
            configuration = try ConfigurationFile.load(path: file, base: base, baseLimits: limits)
            return
        }
        var targets: [TargetConfiguration] = []
        if let dsn {
            targets.append(try Self.target("postgres", .postgres, dsn, field: Settings.dsn.field, limits: limits, disabled: base.disabledCollectors))
        }
        if let pgbouncerDSN {
            targets.append(try Self.target(
                "pgbouncer", .pgbouncer, pgbouncerDSN, field: Settings.pgbouncerDSN.field, limits: limits, disabled: base.disabledCollectors))
        }
        guard !targets.isEmpty else {
            throw ConfigurationError(
                field: "targets", problem: "none given: set DATA_SOURCE_NAME (--dsn), PGBOUNCER_DSN (--pgbouncer-dsn) or --config.file")
        }
        base.targets = targets.map { target in
            var target = target
            if target.kind == .postgres { target.collectors += base.customQueries.map(\.collector) }
            return target
        }
        configuration = base
    }

    /// The telemetry path as the router will match it: empty parts dropped (`/probe/` is
    /// `/probe`), so a path that collides with a built-in endpoint after that is refused too.
    private static func telemetryPath(_ text: String) throws -> String {
        let field = Settings.telemetryPath.field
        guard text.hasPrefix("/") else { throw ConfigurationError(field: field, problem: "must start with /") }
        guard text.utf8.count <= 256, text.allSatisfy({ $0.isASCII && !$0.isWhitespace && !"?#*:{}%".contains($0) }) else {
            throw ConfigurationError(field: field, problem: "must be a plain path of at most 256 ASCII characters, without ?, #, *, :, {, }, % or spaces")
        }
        let parts = text.split(separator: "/")
        guard !parts.isEmpty else { throw ConfigurationError(field: field, problem: "must not be / alone") }
        guard !parts.contains(where: { $0 == "." || $0 == ".." }) else { throw ConfigurationError(field: field, problem: "must not hold . or .. parts") }
        let path = "/" + parts.joined(separator: "/")
        guard !HTTPRoutes.builtInPaths.contains(path) else {
            throw ConfigurationError(
                field: field, problem: "\(ShownValue.quoted(text)) is taken by a built-in endpoint (\(HTTPRoutes.builtInPaths.sorted().joined(separator: ", ")))")
        }
        return path
    }

    private static func target(
        _ name: String, _ kind: ServerInfo.Kind, _ dsn: String, field: String, limits: TargetLimits, disabled: Set<String>
    ) throws -> TargetConfiguration {
        do {
            let connectionString = try TargetConnectionString.make(dsn, kind: kind)
            return TargetConfiguration(name: name, kind: kind, connectionString: connectionString, disabled: disabled, limits: limits)
        } catch {
            throw ConfigurationError(field: field, problem: error.message)
        }
    }

    /// A secret from the setting's environment variable, or from the file named by `NAME_FILE`
    /// (as Kubernetes mounts secrets).
    private static func secret(_ setting: Setting) throws -> String? {
        guard let name = setting.environment else { return nil }
        if let value = environmentValue(name) { return value }
        guard let path = environmentValue(name + "_FILE") else { return nil }
        do {
            return try SecretFile.read(path)
        } catch {
            throw ConfigurationError(field: name + "_FILE", problem: "cannot read \(ShownValue.path(path)): \(error)")
        }
    }

    /// Checks a comma-separated list of collector names.
    private static func collectorNames(_ text: String) throws -> Set<String> {
        let names = Set(text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty })
        let known = Set(CollectorCatalog.all.map(\.name))
        if let unknown = names.subtracting(known).sorted().first {
            throw ConfigurationError(
                field: Settings.disabledCollectors.field,
                problem: "no collector \(ShownValue.quoted(unknown)); available: \(known.sorted().joined(separator: ", "))")
        }
        return names
    }

    /// The setting's text in force (flag, environment or default; empty when none).
    private static func text(_ setting: Setting, _ flagValue: String?) -> String {
        setting.text(flagValue: flagValue) ?? ""
    }

    /// The setting's value, parsed by `parse` (``Setting/duration(_:)`` and its kin); the
    /// error names the flag and its environment variable.
    private static func read<Value>(_ setting: Setting, _ flagValue: String?,
                                    _ parse: (Setting) -> (String) throws(SettingProblem) -> Value) throws -> Value {
        do {
            return try parse(setting)(text(setting, flagValue))
        } catch {
            throw ConfigurationError(field: setting.field, problem: error.text)
        }
    }
}
