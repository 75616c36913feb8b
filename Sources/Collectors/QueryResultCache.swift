import PostgresClient
import Synchronization

/// Results of slow, slowly changing queries (``MetricQuery/refreshInterval``), kept per server
/// and SQL text for a while so that every scrape need not ask again.
///
/// Bounded: one entry per (server, query) pair that has such an interval, and an entry older
/// than its interval is replaced on the next scrape. A failed query keeps nothing.
final class QueryResultCache: Sendable {
    static let shared = QueryResultCache()

    private struct Entry {
        let at: ContinuousClock.Instant
        let result: QueryResult
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// The result stored under `key` if younger than `maxAge`, else `fetch()`'s (then stored).
    func result(for key: String, maxAge: Duration, fetch: () async throws -> QueryResult) async throws -> QueryResult {
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[key] }), now - entry.at < maxAge {
            return entry.result
        }
        let fresh = try await fetch()
        entries.withLock { $0[key] = Entry(at: .now, result: fresh) }
        return fresh
    }
}

extension QueryRunner {
    /// `sql`'s result, asked at most once per `maxAge` per server (and role and database: the
    /// runner's ``QueryRunner/cacheKey``), for answers that change slowly; asked every time when
    /// the runner names no server.
    public func query(_ sql: String, reusedFor maxAge: Duration) async throws -> QueryResult {
        guard let cacheKey else { return try await query(sql) }
        return try await QueryResultCache.shared.result(for: cacheKey + "\u{0}" + sql, maxAge: maxAge) {
            try await query(sql)
        }
    }
}
