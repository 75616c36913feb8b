public import Collectors
public import PostgresClient
import Foundation

/// One server the exporter watches: a PostgreSQL server or a PgBouncer admin console.
public struct TargetConfiguration: Sendable {
    /// Unique name, used in the `target` label and in URLs.
    public var name: String
    /// PostgreSQL or PgBouncer.
    public var kind: ServerInfo.Kind
    /// Where to connect. A secret: show only its ``ConnectionString/redacted`` form.
    public var connectionString: ConnectionString
    /// The collectors that run on every scrape, in order.
    public var collectors: [Collector]
    /// Settings shared with every other target unless this one overrides them.
    public var limits: TargetLimits
    /// What the collectors read (see ``CollectorOptions``).
    public var options: CollectorOptions
    /// Whether `/metrics` includes this target (every target can be scraped alone on `/probe`).
    public var inMetrics = true
    /// Which databases the per-database collectors read (PostgreSQL).
    public var databases = DatabaseDiscovery()
    /// Labels for service discovery (`/sd`): cluster, role, environment, team…, sorted by name.
    public var labels: [(name: String, value: String)] = []

    /// - Parameter collectors: the collectors to run; `nil` for every collector of `kind` but
    ///   those named in `disabled`.
    public init(name: String, kind: ServerInfo.Kind, connectionString: ConnectionString,
                collectors: [Collector]? = nil, disabled: Set<String> = [], limits: TargetLimits = TargetLimits(),
                options: CollectorOptions = CollectorOptions()) {
        self.name = name
        self.kind = kind
        self.connectionString = connectionString
        self.collectors = collectors ?? CollectorCatalog.defaults(for: kind).filter { !disabled.contains($0.name) }
        self.limits = limits
        self.options = options
    }
}

/// How much a target may cost: connections, and time per collector and per connect.
public struct TargetLimits: Sendable, Equatable {
    /// Most connections the exporter holds to the target at once.
    public var maxConnections = 1
    /// Each collector's deadline: `statement_timeout` on PostgreSQL, and a client-side cancel.
    public var collectorTimeout: Duration = .seconds(5)
    /// `lock_timeout` on PostgreSQL (capped by the collector timeout): a catalog lock held by
    /// a migration must not make the exporter queue behind it.
    public var lockTimeout: Duration = .seconds(1)
    /// libpq `connect_timeout` (whole seconds, at least 2).
    public var connectTimeout: Duration = .seconds(5)
    /// A connection older than this is replaced: new logins are re-checked (a rotated password
    /// shows as `pg_up 0` within this time) and server-side memory is returned.
    public var connectionMaxAge: Duration = .seconds(600)
    /// Most series a scrape takes from the target: a collector whose series would go past it
    /// is cut for that scrape (never `*_up` and the self metrics).
    public var maxSeries = 50_000
    /// A connection unused this long is closed: a target that is no longer probed (sharding
    /// moved it to another exporter) keeps no session open on the server.
    public var connectionIdleTimeout: Duration = .seconds(300)
    /// How long `/ready`, `/primary` and `/replica` wait for the target before answering 503.
    public var checkTimeout: Duration = .seconds(2)

    public init() {}
}

/// Everything the exporter runs with.
public struct ExporterConfiguration: Sendable {
    /// The targets `/metrics` scrapes.
    public var targets: [TargetConfiguration]
    /// The scrape deadline when the scraper sends no `X-Prometheus-Scrape-Timeout-Seconds`.
    public var defaultScrapeTimeout: Duration = .seconds(10)
    /// Kept back from the scraper's timeout so the answer arrives before the scraper gives up.
    public var scrapeTimeoutOffset: Duration = .milliseconds(500)
    /// Collectors (by name) left out of every target that does not list its own
    /// (`--collector.disable`).
    public var disabledCollectors: Set<String> = []
    /// Requests that may start work at once (`--web.max-requests`), and as many more whose
    /// target must connect first; more get 503.
    public var maxRequestsStartingWork = 40
    /// postgres_exporter's `queries.yaml` (`--extend.query-path`), read again on reload.
    public var queryFile: String?
    /// Its queries, run on every PostgreSQL target (before a config file's own).
    public var customQueries: [CustomQuery] = []

    public init(targets: [TargetConfiguration]) {
        self.targets = targets
    }
}

extension TargetConfiguration {
    /// Whether `other` would be served the same way: same name, address and credentials,
    /// collectors, limits, options and discovery. A reload keeps such a target's connections.
    func hasSameSetup(as other: TargetConfiguration) -> Bool {
        name == other.name && kind == other.kind && connectionString.identity == other.connectionString.identity
            && collectors.map(\.fingerprint) == other.collectors.map(\.fingerprint) && limits == other.limits && options == other.options
            && inMetrics == other.inMetrics && databases == other.databases
            && labels.map(\.name) == other.labels.map(\.name) && labels.map(\.value) == other.labels.map(\.value)
    }
}

/// How the last configuration reload went.
struct ReloadStatus: Sendable {
    var successful = true
    /// When the configuration in force was loaded (at start, or by the last good reload), in
    /// seconds since the epoch.
    var lastSuccess = Date().timeIntervalSince1970
}
