public import Exposition
public import PostgresClient

/// Reads one part of a server's state, declared as data: for each query, its SQL per server
/// version (and per the target's options) and a mapping of result columns to labels and
/// metrics. Columns are found by name, so a column added in a later server version never breaks
/// it, and a column missing from an older one only removes that metric.
public struct Collector: Sendable {
    /// The name used in flags, the config file and the `collector` label (`connections`).
    public let name: String
    /// The kind of target it reads.
    public let targetKind: ServerInfo.Kind
    /// One line saying what it reads, for `--help` and the docs.
    public let summary: String
    public let queries: [MetricQuery]
    /// Whether it reads the whole server once, or each database (tables, indexes).
    public let scope: CollectorScope
    /// Whether it runs when the configuration does not ask for it.
    public let enabledByDefault: Bool
    /// Its own timeout in place of the target's collector timeout (a custom query's).
    public let timeout: Duration?
    /// For a per-database collector whose answer changes slowly (unused indexes): read in each
    /// database once per `databases.refresh`, with the list of databases, and served from that
    /// reading in between — so that a target with more databases than the connections kept for
    /// them is not reconnected to each of them on every scrape.
    public let refreshesWithDiscovery: Bool
    /// What a reload compares to tell whether the collector changed: its name for a built-in
    /// one, its whole definition for a custom query.
    public let fingerprint: String

    public init(
        name: String, targetKind: ServerInfo.Kind, summary: String, queries: [MetricQuery],
        scope: CollectorScope = .cluster, enabledByDefault: Bool = true, timeout: Duration? = nil, fingerprint: String? = nil,
        refreshesWithDiscovery: Bool = false
    ) {
        self.name = name
        self.targetKind = targetKind
        self.summary = summary
        self.queries = queries
        self.scope = scope
        self.enabledByDefault = enabledByDefault
        self.timeout = timeout
        self.fingerprint = fingerprint ?? name
        self.refreshesWithDiscovery = refreshesWithDiscovery
    }

    /// The metrics it can produce, for the docs, with every option that adds labels on (the
    /// families actually returned may be fewer: a column missing in this server version, or a
    /// query the options leave out).
    public var metrics: [MetricDescription] { metricsFromVersion.map(\.metric) }

    /// Each metric with the first server version whose SQL reads it (`PQserverVersion` form; 0
    /// when every version's does), for the docs: a column an older release lacks only narrows
    /// this further, which the metric's help then says.
    public var metricsFromVersion: [(metric: MetricDescription, fromVersion: Int)] {
        zip(queries, queries.map { $0.labels(with: .everythingOn) }).flatMap { query, labels in
            let from = query.variants(.everythingOn).map(\.minimumVersion).min() ?? 0
            return query.metrics.map { metric in
                (MetricDescription(name: metric.name, type: metric.type, help: metric.help, labels: labels + metric.ownLabels), from)
            }
        }
    }

    /// Runs the queries the server's version, the options and the role's privileges allow:
    /// those asked on every scrape together (``QueryRunner/queries(_:)``: one round trip on
    /// PostgreSQL), those with a ``MetricQuery/refreshInterval`` through the cache. Families
    /// come in query order.
    public func collect(from runner: any QueryRunner) async throws -> [MetricFamily] {
        let permitted = try await requirementsMet(runner)
        let chosen = queries.enumerated().compactMap { index, query in
            permitted[index] ? query.sql(forVersion: runner.server.versionNumber, options: runner.options).map { (query, $0) } : nil
        }
        let everyScrape = chosen.filter { query, _ in query.refreshInterval == nil }
        var fresh = try await runner.queries(everyScrape.map(\.1)).makeIterator()
        var families: [MetricFamily] = []
        for (query, sql) in chosen {
            var result: QueryResult
            if let interval = query.refreshInterval {
                result = try await runner.query(sql, reusedFor: interval)
            } else if let next = fresh.next() {
                result = next
            } else {
                throw PostgresError(kind: .queryFailed, message: "\(everyScrape.count) statements sent, fewer results returned")
            }
            if result.rows.isEmpty, let standIn = query.whenEmpty {
                result = standIn(runner.server)
            }
            families += try query.families(from: result, options: runner.options)
        }
        return families
    }
}

extension Collector {
    /// How long a server's answer to the queries' requirements (privileges, extensions) is
    /// reused: they change rarely, and asking cost a round trip per collector per scrape.
    public static let requirementsRecheck: Duration = .seconds(60)

    /// Which queries may run: those without a requirement, and those whose requirement the
    /// server confirms — all checked in one round trip, at most once per
    /// ``requirementsRecheck`` per server (a privilege granted or revoked shows within it).
    private func requirementsMet(_ runner: any QueryRunner) async throws -> [Bool] {
        var permitted = Array(repeating: true, count: queries.count)
        // Each distinct requirement once (several queries share a privilege).
        var checks: [String] = []
        for requirement in queries.compactMap(\.requires) where !checks.contains(requirement) { checks.append(requirement) }
        guard !checks.isEmpty else { return permitted }
        let sql = "SELECT " + checks.enumerated().map { "(\($1)) AS r\($0)" }.joined(separator: ", ")
        let result = try await runner.query(sql, reusedFor: Self.requirementsRecheck)
        for (index, query) in queries.enumerated() {
            guard let requirement = query.requires, let position = checks.firstIndex(of: requirement) else { continue }
            permitted[index] = result.rows.first?[position].flatMap(parseNumber) == 1
        }
        return permitted
    }
}

/// Where a collector reads.
public enum CollectorScope: Sendable {
    /// Once per target, in the database its connection string names: server-wide views.
    case cluster
    /// Once in every database found on the target (its own tables and indexes), each label
    /// `datname`, on connections kept within the target's database connection cap.
    case database
}

/// A metric as the docs and the exposition's HELP and TYPE lines describe it.
public struct MetricDescription: Sendable {
    public let name: String
    public let type: MetricType
    public let help: String
    public let labels: [String]

    public init(name: String, type: MetricType, help: String, labels: [String]) {
        self.name = name
        self.type = type
        self.help = help
        self.labels = labels
    }
}
