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
