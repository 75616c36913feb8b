public import Exposition
public import PostgresClient

/// Runs SQL against one target for a collector. The scrape engine provides it, with the
/// collector's timeout already applied; collectors know nothing of connections or HTTP.
public protocol QueryRunner: Sendable {
    /// What the target is (kind and version), so a collector can pick its SQL.
    var server: ServerInfo { get }
    /// The target's collector options.
    var options: CollectorOptions { get }
    /// Runs one statement and returns its rows as text.
    func query(_ sql: String) async throws -> QueryResult
    /// Runs several statements (each one statement, no `;` between them) and returns each one's
    /// rows, in order — in one round trip where the target allows it. The first failure fails
    /// them all.
    func queries(_ statements: [String]) async throws -> [QueryResult]
    /// Where results kept between scrapes (``MetricQuery/refreshInterval``) go: the target's
    /// cache, under this connection's identity; `nil`: keep nothing.
    var resultCache: QueryResultCache.Slot? { get }
}

extension QueryRunner {
    public var resultCache: QueryResultCache.Slot? { nil }

    public func queries(_ statements: [String]) async throws -> [QueryResult] {
        try await queriesOneByOne(statements)
    }

    /// ``queries(_:)`` one statement after the other, a round trip each.
    public func queriesOneByOne(_ statements: [String]) async throws -> [QueryResult] {
        var results: [QueryResult] = []
        for statement in statements {
            results.append(try await query(statement))
        }
        return results
    }
}

/// Reads one part of a server's state and turns it into metric families.
public protocol Collector: Sendable {
    /// The name used in flags, the config file and the `collector` label (`connections`).
    var name: String { get }
    /// The kind of target it reads.
    var targetKind: ServerInfo.Kind { get }
    /// One line saying what it reads, for `--help` and the docs.
    var summary: String { get }
    /// The metrics it can produce, for the docs (the families actually returned may be fewer:
    /// a column missing in this server version, or NULL, means no sample).
    var metrics: [MetricDescription] { get }
    /// Whether it reads the whole server once, or each database (tables, indexes).
    var scope: CollectorScope { get }
    /// Whether it runs when the configuration does not ask for it.
    var enabledByDefault: Bool { get }
    /// Reads the target and returns this scrape's families.
    func collect(from runner: any QueryRunner) async throws -> [MetricFamily]
}

extension Collector {
    public var scope: CollectorScope { .cluster }
    public var enabledByDefault: Bool { true }
}

/// Where a collector reads.
public enum CollectorScope: Sendable {
    /// Once per target, in the database its connection string names: server-wide views.
    case cluster
    /// Once in every database found on the target (its own tables and indexes), each label
    /// `datname`, on connections kept within the target's database connection cap.
    case database
}

/// A metric a collector produces, as the docs list it.
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
