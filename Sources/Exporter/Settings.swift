import Collectors

/// Every setting the exporter reads, each declared once (see ``Setting``). Defaults are the
/// initial values of the structures the settings fill, shown here as they would be written.
public enum Settings {
    private static let limits = TargetLimits()
    private static let options = CollectorOptions()
    private static let exporter = ExporterConfiguration(targets: [])
    private static let discovery = DatabaseDiscovery()

    // MARK: The command line (and its environment variables)

    public static let dsn = Setting(
        flag: "dsn", environment: "DATA_SOURCE_NAME", values: .text,
        help: "one PostgreSQL target, named postgres: a connection string, URI or key=value")
    public static let pgbouncerDSN = Setting(
        flag: "pgbouncer-dsn", environment: "PGBOUNCER_DSN", values: .text,
        help: "one PgBouncer admin console, named pgbouncer (dbname=pgbouncer)")
    public static let configFile = Setting(
        flag: "config.file", environment: "PGSTACK_CONFIG_FILE", values: .text,
        help: "YAML file of targets (instead of the two above)")
    public static let configCheck = Setting(
        flag: "config.check", values: .boolean, help: "check the configuration, print the targets, exit")
    public static let listenAddress = Setting(
        flag: "web.listen-address", environment: "PGSTACK_WEB_LISTEN_ADDRESS", default: ":9187", values: .text,
        help: "host:port to listen on")
    public static let telemetryPath = Setting(
        flag: "web.telemetry-path", environment: "PGSTACK_WEB_TELEMETRY_PATH", default: "/metrics", values: .text,
        help: "path of the metrics")
    public static let webConfigFile = Setting(
        flag: "web.config.file", environment: "PGSTACK_WEB_CONFIG_FILE", values: .text,
        help: "TLS and basic auth (exporter-toolkit format)")
    public static let enableLifecycle = Setting(
        flag: "web.enable-lifecycle", environment: "PGSTACK_WEB_ENABLE_LIFECYCLE", values: .boolean,
        help: "serve POST /-/reload, which re-reads the config file as SIGHUP does")
    public static let maxRequests = Setting(
        flag: "web.max-requests", environment: "PGSTACK_WEB_MAX_REQUESTS", default: "\(exporter.maxRequestsStartingWork)",
        values: .wholeNumber(WholeNumberText.requestLimit),
        help: "requests that start work at once (a collection, a role check), and as many more whose target must connect first; more get 503 — a scrape that joins a running collection is never refused")
    public static let maxHTTPConnections = Setting(
        flag: "web.max-connections", environment: "PGSTACK_WEB_MAX_CONNECTIONS", default: "512",
        values: .wholeNumber(WholeNumberText.httpConnectionLimit),
        help: "open HTTP connections at most; more wait in the listen queue")
    public static let idleTimeout = Setting(
        flag: "web.idle-timeout", environment: "PGSTACK_WEB_IDLE_TIMEOUT", default: "60s", values: .duration,
        help: "closes a connection idle, or still sending its request headers, this long")
    public static let logLevel = Setting(
        flag: "log.level", environment: "PGSTACK_LOG_LEVEL", default: "info", values: .choice(["debug", "info", "warn", "error"]),
        help: "debug, info, warn or error")
    public static let logFormat = Setting(
        flag: "log.format", environment: "PGSTACK_LOG_FORMAT", default: "logfmt", values: .choice(["logfmt", "json"]),
        help: "logfmt or json")
    public static let scrapeTimeout = Setting(
        flag: "scrape.timeout", environment: "PGSTACK_SCRAPE_TIMEOUT", fileKey: "scrape_timeout",
        default: DurationText.text(exporter.defaultScrapeTimeout), values: .duration,
        help: "deadline when the scraper sends no timeout header")
    public static let scrapeTimeoutOffset = Setting(
        flag: "scrape.timeout-offset", environment: "PGSTACK_SCRAPE_TIMEOUT_OFFSET", fileKey: "scrape_timeout_offset",
        default: DurationText.text(exporter.scrapeTimeoutOffset), values: .duration,
        help: "kept back from the scraper's timeout")
    public static let collectorTimeout = Setting(
        flag: "collector.timeout", environment: "PGSTACK_COLLECTOR_TIMEOUT", fileKey: "collector_timeout",
        default: DurationText.text(limits.collectorTimeout), values: .duration,
        help: "each collector's timeout")
    public static let maxConnections = Setting(
        flag: "target.max-connections", environment: "PGSTACK_TARGET_MAX_CONNECTIONS", fileKey: "max_connections",
        default: "\(limits.maxConnections)", values: .wholeNumber(WholeNumberText.connectionLimit),
        help: "connections per target, at most")
    public static let connectTimeout = Setting(
        flag: "target.connect-timeout", environment: "PGSTACK_TARGET_CONNECT_TIMEOUT", fileKey: "connect_timeout",
        default: DurationText.text(limits.connectTimeout), values: .duration,
        help: "connect timeout (libpq: whole seconds, at least 2)")
    public static let extendQueryPath = Setting(
        flag: "extend.query-path", environment: "PG_EXPORTER_EXTEND_QUERY_PATH", values: .text,
        help: "postgres_exporter's queries.yaml: custom queries for every PostgreSQL target")
    public static let disabledCollectors = Setting(
        flag: "collector.disable", environment: "PGSTACK_COLLECTOR_DISABLE", values: .text,
        help: "collectors to leave out (comma-separated) where a target lists none")

    /// What the command line reads, in `--help` order.
    public static let commandLine = [
        dsn, pgbouncerDSN, configFile, configCheck, listenAddress, telemetryPath, webConfigFile, enableLifecycle, maxRequests,
        maxHTTPConnections, idleTimeout, logLevel, logFormat, scrapeTimeout, scrapeTimeoutOffset, collectorTimeout,
        maxConnections, connectTimeout, disabledCollectors, extendQueryPath,
    ]

    // MARK: Only in the config file: a target (or `defaults:`)

    public static let lockTimeout = Setting(
        fileKey: "lock_timeout", default: DurationText.text(limits.lockTimeout), values: .duration,
        help: "lock_timeout on PostgreSQL (capped by the collector timeout)")
    public static let connectionMaxAge = Setting(
        fileKey: "connection_max_age", default: DurationText.text(limits.connectionMaxAge), values: .duration,
        help: "a connection older than this is replaced (logins re-checked)")
    public static let maxSeries = Setting(
        fileKey: "max_series", default: "\(limits.maxSeries)", values: .wholeNumber(1...10_000_000),
        help: "most series a scrape takes from the target; a collector going past it is cut for that scrape")
    public static let connectionIdleTimeout = Setting(
        fileKey: "connection_idle_timeout", default: DurationText.text(limits.connectionIdleTimeout), values: .duration,
        help: "a connection unused this long is closed (a target another exporter now probes holds no session)")
    public static let checkTimeout = Setting(
        fileKey: "check_timeout", default: DurationText.text(limits.checkTimeout), values: .duration,
        help: "how long /ready, /primary and /replica wait for the target")

    public static let inMetrics = Setting(
        fileKey: "in_metrics", default: "true", values: .boolean,
        help: "whether /metrics includes the target (every target can be scraped alone on /probe)")

    /// What a target or `defaults:` may set about its cost.
    public static let targetLimits = [
        maxConnections, collectorTimeout, lockTimeout, connectTimeout, connectionMaxAge, connectionIdleTimeout, checkTimeout, maxSeries,
    ]

    // MARK: A target's `databases:`

    public static let discoveryRefresh = Setting(
        fileKey: "refresh", default: DurationText.text(discovery.refresh), values: .duration,
        help: "how often the list of databases is read again")
    public static let discoveryMaxConnections = Setting(
        fileKey: "max_connections", default: "\(discovery.maxConnections)", values: .wholeNumber(WholeNumberText.connectionLimit),
        help: "connections to the target's databases at most (beyond the main one)")

    // MARK: A `custom_queries:` entry (and a queries.yaml entry)

    public static let customQueryCache = Setting(
        fileKey: "cache", values: .duration, help: "how long a result is reused (default: asked on every scrape)")
    public static let cacheSeconds = Setting(
        fileKey: "cache_seconds", default: "0", values: .wholeNumber(0...31_622_400),
        help: "queries.yaml's form of cache, in whole seconds (0: every scrape)")
    public static let customQueryTimeout = Setting(
        fileKey: "timeout", values: .duration, help: "the query's timeout (default: the target's collector_timeout)")

    // MARK: `options:` (what the collectors read)

    public static let includeAdminDatabase = Setting(
        fileKey: "include_admin_database", default: "\(options.includeAdminDatabase)", values: .boolean,
        help: "PgBouncer: keep the rows of the console's own pgbouncer database")
    public static let activityLabels = Setting(
        fileKey: "activity_labels", values: .choice(CollectorOptions.ActivityLabel.allCases.map(\.rawValue)),
        help: "connections: pg_stat_activity columns to count sessions by (a list)")
    public static let activityLabelsLimit = Setting(
        fileKey: "activity_labels_limit", default: "\(options.activityLabelsLimit)", values: .wholeNumber(1...10_000),
        help: "connections: most series pg_stat_activity_sessions may have")
    public static let statementsTopN = Setting(
        fileKey: "statements_top_n", default: "\(options.statementsTopN)", values: .wholeNumber(1...10_000),
        help: "statements: how many statements get series of their own")
    public static let statementsSlowThreshold = Setting(
        fileKey: "statements_slow_threshold", default: DurationText.text(.milliseconds(Int64(options.statementsSlowThreshold * 1000))),
        values: .duration, help: "statements: mean execution time above which a statement counts as slow")
    public static let statementsIncludeQuery = Setting(
        fileKey: "statements_include_query", default: "\(options.statementsIncludeQuery)", values: .boolean,
        help: "statements: also export each top statement's text")
    public static let statementsQueryLength = Setting(
        fileKey: "statements_query_length", default: "\(options.statementsQueryLength)", values: .wholeNumber(1...100_000),
        help: "statements: characters of query text kept")
    public static let unusedIndexesTopN = Setting(
        fileKey: "unused_indexes_top_n", default: "\(options.unusedIndexesTopN)", values: .wholeNumber(1...10_000),
        help: "tables: how many unused indexes per database (the largest) get series of their own")

    public static let collectorOptions = [
        includeAdminDatabase, activityLabels, activityLabelsLimit, statementsTopN, statementsSlowThreshold,
        statementsIncludeQuery, statementsQueryLength, unusedIndexesTopN,
    ]
}
