import PostgresClient
import NIOConcurrencyHelpers

/// Results of slow, slowly changing queries (``MetricQuery/refreshInterval``), kept for a while
/// so that every scrape need not ask again. Each target owns one (never shared between
/// targets); within it, results are kept per connection identity (database, role) and SQL text.
///
/// Bounded: one entry per (connection, query) pair that has such an interval, and an entry older
/// than its interval is replaced on the next scrape. A failed query keeps nothing.
public final class QueryResultCache: Sendable {
    /// Where a runner keeps its results: a target's cache, under its connection's identity.
    public struct Slot: Sendable {
        let cache: QueryResultCache
        /// May hold a secret (``PostgresClient/ConnectionString/identity``): a key, never shown.
        let key: String

        public init(cache: QueryResultCache, key: String) {
            self.cache = cache
            self.key = key
        }
    }

    public init() {}

    private struct Entry {
        let at: ContinuousClock.Instant
        let result: QueryResult
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    /// The result stored under `key` if younger than `maxAge`, else `fetch()`'s (then stored).
    func result(for key: String, maxAge: Duration, fetch: () async throws -> QueryResult) async throws -> QueryResult {
        let now = ContinuousClock.now
        if let entry = entries.withLockedValue({ $0[key] }), now - entry.at < maxAge {
            return entry.result
        }
        let fresh = try await fetch()
        entries.withLockedValue { $0[key] = Entry(at: .now, result: fresh) }
        return fresh
    }
}

extension QueryRunner {
    /// `sql`'s result, asked at most once per `maxAge` per connection (the runner's
    /// ``QueryRunner/resultCache``), for answers that change slowly; asked every time when the
    /// runner keeps no results.
    public func query(_ sql: String, reusedFor maxAge: Duration) async throws -> QueryResult {
        guard let slot = resultCache else { return try await query(sql) }
        return try await slot.cache.result(for: slot.key + "\u{0}" + sql, maxAge: maxAge) {
            try await query(sql)
        }
    }
}
