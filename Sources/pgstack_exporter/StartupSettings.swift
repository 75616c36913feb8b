import Collectors
import Exporter
import Hummingbird
import HummingbirdCore

/// The command line and environment turned into checked settings. Every error names the flag
/// (and its environment variable) or the config file line, and never repeats a DSN.
struct StartupSettings {
    let configuration: ExporterConfiguration
    let listenAddress: ListenAddress
    let telemetryPath: String
    /// Open HTTP connections at most.
    let maxHTTPConnections: Int
    /// TLS and basic auth (empty when no `--web.config.file`).
    let web: WebConfiguration
    /// The HTTP server, with TLS when configured (certificates loaded and checked here).
    let server: HTTPServerBuilder

    init(_ command: PgstackExporterCommand) throws {
        guard let address = ListenAddress(command.listenAddress) else {
            throw ConfigurationError(field: "--web.listen-address (PGSTACK_WEB_LISTEN_ADDRESS)", problem: "\(ShownValue.quoted(command.listenAddress)) is not host:port")
        }
        listenAddress = address
        telemetryPath = try Self.telemetryPath(command.telemetryPath)
        let maxRequests = try Self.whole(command.maxRequests, in: WholeNumberText.requestLimit, field: "--web.max-requests (PGSTACK_WEB_MAX_REQUESTS)")
        maxHTTPConnections = try Self.whole(
            command.maxHTTPConnections, in: WholeNumberText.httpConnectionLimit, field: "--web.max-connections (PGSTACK_WEB_MAX_CONNECTIONS)")
        let idleTimeout = try Self.duration(command.idleTimeout, field: "--web.idle-timeout (PGSTACK_WEB_IDLE_TIMEOUT)")
        if command.webConfigFile.isEmpty {
            web = WebConfiguration()
        } else {
            web = try WebConfiguration.load(path: command.webConfigFile)
        }
        server = try WebSecurity.server(web, file: command.webConfigFile, http: HTTPLimits.channel(idleTimeout: idleTimeout))

        var limits = TargetLimits()
        limits.collectorTimeout = try Self.duration(command.collectorTimeout, field: "--collector.timeout (PGSTACK_COLLECTOR_TIMEOUT)")
        limits.connectTimeout = try Self.duration(command.connectTimeout, field: "--target.connect-timeout (PGSTACK_TARGET_CONNECT_TIMEOUT)")
        limits.maxConnections = try Self.whole(command.maxConnections, in: WholeNumberText.connectionLimit, field: "--target.max-connections (PGSTACK_TARGET_MAX_CONNECTIONS)")

        var base = ExporterConfiguration(targets: [])
        base.maxRequestsStartingWork = maxRequests
        base.disabledCollectors = try Self.collectorNames(command.disabledCollectors)
        base.defaultScrapeTimeout = try Self.duration(command.scrapeTimeout, field: "--scrape.timeout (PGSTACK_SCRAPE_TIMEOUT)")
        base.scrapeTimeoutOffset = try Self.duration(command.scrapeTimeoutOffset, field: "--scrape.timeout-offset (PGSTACK_SCRAPE_TIMEOUT_OFFSET)")

        // DSNs are secrets: read from the environment here, never as a flag's default (which
        // --help would print).
        let dsn = try command.dsn ?? Self.fromEnvironment("DATA_SOURCE_NAME")
        let pgbouncerDSN = try command.pgbouncerDSN ?? Self.fromEnvironment("PGBOUNCER_DSN")
        if let file = command.configFile ?? environment("PGSTACK_CONFIG_FILE") {
            if dsn != nil || pgbouncerDSN != nil {
                throw ConfigurationError(
                    field: "--config.file", problem: "give targets either in the file or with DATA_SOURCE_NAME/PGBOUNCER_DSN (--dsn/--pgbouncer-dsn), not both")
            }
            configuration = try ConfigurationFile.load(path: file, base: base, baseLimits: limits)
            return
        }
        var targets: [TargetConfiguration] = []
        if let dsn {
            targets.append(try Self.target("postgres", .postgres, dsn, field: "--dsn (DATA_SOURCE_NAME)", limits: limits, disabled: base.disabledCollectors))
        }
        if let pgbouncerDSN {
            targets.append(try Self.target(
                "pgbouncer", .pgbouncer, pgbouncerDSN, field: "--pgbouncer-dsn (PGBOUNCER_DSN)", limits: limits, disabled: base.disabledCollectors))
        }
        guard !targets.isEmpty else {
            throw ConfigurationError(
                field: "targets", problem: "none given: set DATA_SOURCE_NAME (--dsn), PGBOUNCER_DSN (--pgbouncer-dsn) or --config.file")
        }
        base.targets = targets
        configuration = base
    }

    /// The telemetry path as the router will match it: empty parts dropped (`/probe/` is
    /// `/probe`), so a path that collides with a built-in endpoint after that is refused too.
    private static func telemetryPath(_ text: String) throws -> String {
        let field = "--web.telemetry-path (PGSTACK_WEB_TELEMETRY_PATH)"
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

    /// A secret from the environment variable `name`, or from the file named by `name_FILE`
    /// (as Kubernetes mounts secrets).
    private static func fromEnvironment(_ name: String) throws -> String? {
        if let value = environment(name) { return value }
        guard let path = environment(name + "_FILE") else { return nil }
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
                field: "--collector.disable (PGSTACK_COLLECTOR_DISABLE)",
                problem: "no collector \(ShownValue.quoted(unknown)); available: \(known.sorted().joined(separator: ", "))")
        }
        return names
    }

    private static func duration(_ text: String, field: String) throws -> Duration {
        switch DurationText.positive(text) {
        case .success(let duration): return duration
        case .failure(let problem): throw ConfigurationError(field: field, problem: "\(ShownValue.quoted(text)) \(problem.text)")
        }
    }

    private static func whole(_ text: String, in range: ClosedRange<Int>, field: String) throws -> Int {
        switch WholeNumberText.parse(text, in: range) {
        case .success(let value): return value
        case .failure(let problem): throw ConfigurationError(field: field, problem: "\(ShownValue.quoted(text)) \(problem.text)")
        }
    }
}
