import ArgumentParser
import Exporter
import Collectors
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// The `pgstack_exporter` command: reads flags (each with an environment variable), builds
/// the targets, and serves HTTP until SIGTERM or SIGINT.
@main
struct PgstackExporterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgstack_exporter",
        abstract: "Prometheus exporter for PostgreSQL primaries, replicas and PgBouncer.",
        discussion: """
            Give one PostgreSQL target with DATA_SOURCE_NAME (or --dsn) and/or one PgBouncer \
            admin console with PGBOUNCER_DSN (or --pgbouncer-dsn), or name several targets in \
            a YAML file with --config.file. Prefer the environment or dsn_file for DSNs that \
            carry a password: command-line flags are visible to every user in `ps`.
            """,
        version: BuildInfo.version)

    @Option(name: .customLong("dsn"), help: "PostgreSQL connection string, URI or key=value (env: DATA_SOURCE_NAME).")
    var dsn: String?

    @Option(name: .customLong("pgbouncer-dsn"), help: "PgBouncer admin console connection string, dbname=pgbouncer (env: PGBOUNCER_DSN).")
    var pgbouncerDSN: String?

    @Option(name: .customLong("config.file"), help: "YAML file listing targets (env: PGSTACK_CONFIG_FILE).")
    var configFile: String?

    @Flag(name: .customLong("config.check"), help: "Check the configuration, print the targets, and exit.")
    var configCheck = false

    @Option(name: .customLong("web.listen-address"), help: "Address to listen on (env: PGSTACK_WEB_LISTEN_ADDRESS).")
    var listenAddress = environment("PGSTACK_WEB_LISTEN_ADDRESS") ?? ":9187"

    @Option(name: .customLong("web.config.file"), help: "TLS and basic auth, in the exporter-toolkit format (env: PGSTACK_WEB_CONFIG_FILE).")
    var webConfigFile = environment("PGSTACK_WEB_CONFIG_FILE") ?? ""

    @Option(name: .customLong("web.telemetry-path"), help: "Path of the metrics (env: PGSTACK_WEB_TELEMETRY_PATH).")
    var telemetryPath = environment("PGSTACK_WEB_TELEMETRY_PATH") ?? "/metrics"

    @Option(name: .customLong("web.max-requests"), help: "Requests that start work (a collection, a role check) at once; more get 503, joiners never (env: PGSTACK_WEB_MAX_REQUESTS).")
    var maxRequests = environment("PGSTACK_WEB_MAX_REQUESTS") ?? "40"

    @Option(name: .customLong("web.max-connections"), help: "Open HTTP connections at most; more wait to be accepted (env: PGSTACK_WEB_MAX_CONNECTIONS).")
    var maxHTTPConnections = environment("PGSTACK_WEB_MAX_CONNECTIONS") ?? "512"

    @Option(name: .customLong("web.idle-timeout"), help: "Closes a connection idle, or still sending its request headers, this long (env: PGSTACK_WEB_IDLE_TIMEOUT).")
    var idleTimeout = environment("PGSTACK_WEB_IDLE_TIMEOUT") ?? "60s"

    @Option(name: .customLong("log.level"), help: "debug, info, warn or error (env: PGSTACK_LOG_LEVEL).")
    var logLevel = environment("PGSTACK_LOG_LEVEL") ?? "info"

    @Option(name: .customLong("log.format"), help: "logfmt or json (env: PGSTACK_LOG_FORMAT).")
    var logFormat = environment("PGSTACK_LOG_FORMAT") ?? "logfmt"

    @Option(name: .customLong("scrape.timeout"), help: "Scrape deadline when the scraper sends no X-Prometheus-Scrape-Timeout-Seconds (env: PGSTACK_SCRAPE_TIMEOUT).")
    var scrapeTimeout = environment("PGSTACK_SCRAPE_TIMEOUT") ?? "10s"

    @Option(name: .customLong("scrape.timeout-offset"), help: "Kept back from the scraper's timeout (env: PGSTACK_SCRAPE_TIMEOUT_OFFSET).")
    var scrapeTimeoutOffset = environment("PGSTACK_SCRAPE_TIMEOUT_OFFSET") ?? "500ms"

    @Option(name: .customLong("collector.timeout"), help: "Each collector's timeout (env: PGSTACK_COLLECTOR_TIMEOUT).")
    var collectorTimeout = environment("PGSTACK_COLLECTOR_TIMEOUT") ?? "5s"

    @Option(name: .customLong("target.max-connections"), help: "Connections held per target at most (env: PGSTACK_TARGET_MAX_CONNECTIONS).")
    var maxConnections = environment("PGSTACK_TARGET_MAX_CONNECTIONS") ?? "1"

    @Option(name: .customLong("target.connect-timeout"), help: "Connect timeout per target (env: PGSTACK_TARGET_CONNECT_TIMEOUT).")
    var connectTimeout = environment("PGSTACK_TARGET_CONNECT_TIMEOUT") ?? "5s"

    @Option(name: .customLong("collector.disable"), help: "Collectors to leave out, comma-separated, unless a target lists its own (env: PGSTACK_COLLECTOR_DISABLE).")
    var disabledCollectors = environment("PGSTACK_COLLECTOR_DISABLE") ?? ""

    func run() async throws {
        // Logging first, so that every later error is logged in the chosen format.
        // Before logging exists, a bad value is said on standard error, with the same exit code.
        guard let level = Logger.Level(flag: logLevel) else {
            throw Self.startFailure("--log.level (PGSTACK_LOG_LEVEL): \(ShownValue.quoted(logLevel)) is not one of debug, info, warn, error")
        }
        guard let format = LogFormat(rawValue: logFormat) else {
            throw Self.startFailure("--log.format (PGSTACK_LOG_FORMAT): \(ShownValue.quoted(logFormat)) is not one of logfmt, json")
        }
        LoggingSystem.bootstrap { _ in LineLogHandler(logLevel: level, format: format) }
        let logger = Logger(label: "pgstack_exporter")

        let settings: StartupSettings
        do {
            settings = try StartupSettings(self)
        } catch let error as ConfigurationError {
            logger.error("invalid configuration", metadata: ["error": .string(error.description)])
            throw ExitCode(2)
        }
        if configCheck {
            print("configuration OK: \(settings.configuration.targets.count) target(s)")
            for target in settings.configuration.targets {
                print("  \(target.name) (\(target.kind.rawValue)) \(target.connectionString.redacted): \(target.collectors.map(\.name).joined(separator: ", "))")
            }
            return
        }
        try await serve(settings, logger: logger)
    }

    /// Says `message` on standard error and gives the exit code of a bad setting (2).
    private static func startFailure(_ message: String) -> ExitCode {
        let line = "pgstack_exporter: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        return ExitCode(2)
    }

    private func serve(_ settings: StartupSettings, logger: Logger) async throws {
        let exporter = Exporter(configuration: settings.configuration, logger: logger)
        for target in settings.configuration.targets {
            logger.info("target", metadata: [
                "name": .string(target.name), "kind": .string(target.kind.rawValue),
                "address": .string(target.connectionString.redacted),
                "collectors": .string(target.collectors.map(\.name).joined(separator: ",")),
            ])
        }
        let router = HTTPRoutes.router(
            exporter: exporter, telemetryPath: settings.telemetryPath,
            basicAuthUsers: settings.web.basicAuthUsers)
        let app = Application(
            router: router,
            server: settings.server,
            configuration: .init(
                address: .hostname(settings.listenAddress.host, port: settings.listenAddress.port), serverName: "pgstack_exporter",
                availableConnectionsDelegate: MaximumAvailableConnections(settings.maxHTTPConnections, logger: logger)),
            services: [ExporterShutdown(exporter: exporter)],
            logger: logger)
        // Requests in flight get a few seconds to finish after SIGTERM, then are cancelled.
        // Services shut down in reverse order: the watchdog is told first, so its clock runs
        // while the server drains its requests.
        var group = ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: ShutdownWatchdog())], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = ShutdownWatchdog.gracePeriod
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            logger.error("server stopped", metadata: ["error": .string("\(error)")])
            throw ExitCode(1)
        }
    }
}

/// Closes the targets' connections when the service group shuts down.
struct ExporterShutdown: Service {
    let exporter: Exporter

    func run() async throws {
        try? await gracefulShutdown()
        await exporter.shutdown()
    }
}

/// Ends the process a few seconds after SIGTERM whatever is still running: a request waiting
/// on a frozen server must not keep a stopped exporter alive.
struct ShutdownWatchdog: Service {
    /// How long requests in flight may take after SIGTERM.
    static let gracePeriod: Duration = .seconds(2)
    /// When the process exits regardless, after SIGTERM.
    static let hardLimit: Duration = .seconds(3)

    func run() async throws {
        try? await gracefulShutdown()
        let thread = Thread {
            Thread.sleep(forTimeInterval: DurationText.seconds(Self.hardLimit))
            let line = "level=warn msg=\"shutdown took over \(Self.hardLimit); exiting\"\n"
            fflush(nil)
            _ = line.withCString { write(2, $0, strlen($0)) }
            _exit(0)
        }
        thread.start()
    }
}

/// An environment variable's value, or `nil` when unset or empty.
func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}
