import ArgumentParser
import Exporter
import ExporterHTTP
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
        version: BuildInfo.versionText)

    // Each flag's name, help, environment variable and default come from its declaration in
    // `Settings`; the values stay raw text here and are checked in `StartupSettings`.
    @Option(name: Settings.dsn.flagName, help: Settings.dsn.argumentHelp)
    var dsn: String?

    @Option(name: Settings.pgbouncerDSN.flagName, help: Settings.pgbouncerDSN.argumentHelp)
    var pgbouncerDSN: String?

    @Option(name: Settings.configFile.flagName, help: Settings.configFile.argumentHelp)
    var configFile: String?

    @Flag(name: Settings.configCheck.flagName, help: Settings.configCheck.argumentHelp)
    var configCheck = false

    @Option(name: Settings.listenAddress.flagName, help: Settings.listenAddress.argumentHelp)
    var listenAddress: String?

    @Option(name: Settings.telemetryPath.flagName, help: Settings.telemetryPath.argumentHelp)
    var telemetryPath: String?

    @Option(name: Settings.webConfigFile.flagName, help: Settings.webConfigFile.argumentHelp)
    var webConfigFile: String?

    @Flag(name: Settings.enableLifecycle.flagName, help: Settings.enableLifecycle.argumentHelp)
    var enableLifecycle = false

    @Option(name: Settings.maxRequests.flagName, help: Settings.maxRequests.argumentHelp)
    var maxRequests: String?

    @Option(name: Settings.maxHTTPConnections.flagName, help: Settings.maxHTTPConnections.argumentHelp)
    var maxHTTPConnections: String?

    @Option(name: Settings.idleTimeout.flagName, help: Settings.idleTimeout.argumentHelp)
    var idleTimeout: String?

    @Option(name: Settings.logLevel.flagName, help: Settings.logLevel.argumentHelp)
    var logLevel: String?

    @Option(name: Settings.logFormat.flagName, help: Settings.logFormat.argumentHelp)
    var logFormat: String?

    @Option(name: Settings.scrapeTimeout.flagName, help: Settings.scrapeTimeout.argumentHelp)
    var scrapeTimeout: String?

    @Option(name: Settings.scrapeTimeoutOffset.flagName, help: Settings.scrapeTimeoutOffset.argumentHelp)
    var scrapeTimeoutOffset: String?

    @Option(name: Settings.collectorTimeout.flagName, help: Settings.collectorTimeout.argumentHelp)
    var collectorTimeout: String?

    @Option(name: Settings.maxConnections.flagName, help: Settings.maxConnections.argumentHelp)
    var maxConnections: String?

    @Option(name: Settings.connectTimeout.flagName, help: Settings.connectTimeout.argumentHelp)
    var connectTimeout: String?

    @Option(name: Settings.disabledCollectors.flagName, help: Settings.disabledCollectors.argumentHelp)
    var disabledCollectors: String?

    @Option(name: Settings.extendQueryPath.flagName, help: Settings.extendQueryPath.argumentHelp)
    var extendQueryPath: String?

    func run() async throws {
        // Logging first, so that every later error is logged in the chosen format.
        // Before logging exists, a bad value is said on standard error, with the same exit code.
        let level = try Self.word(Settings.logLevel, logLevel, Logger.Level.init(flag:))
        let format = try Self.word(Settings.logFormat, logFormat, LogFormat.init(rawValue:))
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

    /// A setting that is one of a few words, read before logging exists: `make` accepts the
    /// words (in any case, for the log level); anything else is said on standard error.
    private static func word<Value>(_ setting: Setting, _ flagValue: String?, _ make: (String) -> Value?) throws -> Value {
        let text = setting.text(flagValue: flagValue) ?? ""
        if let value = make(text) { return value }
        do {
            _ = try setting.choice(text)
        } catch {
            throw startFailure("\(setting.field): \(error.text)")
        }
        throw startFailure("\(setting.field): \(ShownValue.quoted(text)) is not accepted")
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
        let reloader = ConfigurationReloader(
            exporter: exporter, file: settings.configFile, base: settings.base, baseLimits: settings.baseLimits, logger: logger)
        let router = HTTPRoutes.router(
            exporter: exporter, telemetryPath: settings.telemetryPath,
            basicAuthUsers: settings.web.basicAuthUsers, reloader: settings.enableLifecycle ? reloader : nil,
            scheme: settings.web.tls == nil ? "http" : "https")
        let app = Application(
            router: router,
            server: settings.server,
            configuration: .init(
                address: .hostname(settings.listenAddress.host, port: settings.listenAddress.port), serverName: "pgstack_exporter",
                availableConnectionsDelegate: MaximumAvailableConnections(settings.maxHTTPConnections, logger: logger)),
            services: [ExporterShutdown(exporter: exporter), ReloadOnHangup(reloader: reloader)],
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

/// Reloads the config file on every SIGHUP, until shutdown.
struct ReloadOnHangup: Service {
    let reloader: ConfigurationReloader

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            try? await reloader.reload()  // a failure is logged and counted by the reloader
        }
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

extension Setting {
    /// The flag's name for ArgumentParser.
    var flagName: NameSpecification { .customLong(flag ?? "") }
    /// The help line `--help` shows.
    var argumentHelp: ArgumentHelp { ArgumentHelp(helpText, valueName: valueName) }
}
