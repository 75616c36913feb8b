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

    /// Forgets everything (tests).
    func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
