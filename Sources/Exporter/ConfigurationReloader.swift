public import Logging

/// Re-reads the config file and puts it in force (SIGHUP, `POST /-/reload`). One reload at a
/// time; an invalid file leaves the running configuration in place and says why (file, line,
/// field: never a secret). The file's `dsn_file` and `password_file` are read again too, so a
/// rotated secret is used from the next reload on, and so is `--extend.query-path`.
public actor ConfigurationReloader {
    private let exporter: Exporter
    /// The config file; `nil` when the targets came from flags or the environment (then a
    /// reload has nothing to read again and keeps what runs).
    private let file: String?
    /// The command line's settings, which the file overrides (as at start).
    private let base: ExporterConfiguration
    private let baseLimits: TargetLimits
    private let logger: Logger

    public init(exporter: Exporter, file: String?, base: ExporterConfiguration, baseLimits: TargetLimits, logger: Logger) {
        self.exporter = exporter
        self.file = file
        self.base = base
        self.baseLimits = baseLimits
        self.logger = logger
    }

    /// Reloads; the error says what is wrong with the file.
    public func reload() async throws(ConfigurationError) {
        guard let file else {
            logger.info("reload asked: no config file, the targets come from flags or the environment; nothing to read again")
            return
        }
        let configuration: ExporterConfiguration
        do {
            var base = base
            if let queryFile = base.queryFile { base.customQueries = try CustomQueriesFile.load(path: queryFile) }
            configuration = try ConfigurationFile.load(path: file, base: base, baseLimits: baseLimits)
        } catch let error as ConfigurationError {
            exporter.reloadFailed()
            logger.error("reload failed; the running configuration stays", metadata: ["error": .string(error.description)])
            throw error
        } catch {
            exporter.reloadFailed()
            let problem = ConfigurationError(file: file, field: "--config.file", problem: "cannot be read")
            logger.error("reload failed; the running configuration stays", metadata: ["error": .string(problem.description)])
            throw problem
        }
        await exporter.reload(configuration)
    }
}
