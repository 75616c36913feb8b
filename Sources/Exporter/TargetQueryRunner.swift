import Synchronization
import Collectors
import PostgresClient

/// Runs a collector's SQL on a pooled connection with the collector's timeouts.
///
/// On PostgreSQL the server-side timeouts (`statement_timeout`, `lock_timeout`) are sent with
/// the first query that needs them, in the same round trip, and only when they change. On
/// PgBouncer nothing but the query is sent: its console rejects `SET`. Either way a client-side
/// cancel fires at `clientTimeout`.
struct TargetQueryRunner: QueryRunner {
    let pooled: PooledConnection
    let blocking: BlockingPool
    /// When to cancel from the client side: the collector timeout, cut to the scrape deadline.
    let clientTimeout: Duration
    /// `SET statement_timeout …; SET lock_timeout …` for PostgreSQL, `nil` for PgBouncer.
    let sessionSettings: String?
    let options: CollectorOptions

    var server: ServerInfo { pooled.connection.server }

    var cacheKey: String? { pooled.connection.endpoint }

    func query(_ sql: String) async throws -> QueryResult {
        var text = sql
        let mustApply = sessionSettings != nil && pooled.appliedSettings.withLock { $0 } != sessionSettings
        if mustApply, let sessionSettings { text = sessionSettings + sql }
        do {
            let result = try await pooled.connection.query(text, timeout: clientTimeout, on: blocking)
            if mustApply { pooled.appliedSettings.withLock { $0 = sessionSettings } }
            return result
        } catch {
            // A failed statement rolls back the SETs sent with it.
            if mustApply { pooled.appliedSettings.withLock { $0 = nil } }
            throw error
        }
    }

    /// The `SET` prefix for a PostgreSQL target's limits.
    static func postgresSettings(for limits: TargetLimits) -> String {
        let statementMilliseconds = milliseconds(limits.collectorTimeout)
        let lockMilliseconds = min(milliseconds(limits.lockTimeout), statementMilliseconds)
        return "SET statement_timeout = \(statementMilliseconds); SET lock_timeout = \(lockMilliseconds); "
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        Int64((DurationText.seconds(duration) * 1000).rounded())
    }
}
