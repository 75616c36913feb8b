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
        try await run(sql).last ?? QueryResult(columns: [], rows: [])
    }

    /// On PostgreSQL, all statements in one text: one round trip and one hand-off to the
    /// blocking pool instead of one per statement, and one snapshot of the statistics views for
    /// all of them (the server runs the text as one transaction). The PgBouncer console takes one
    /// command at a time.
    func queries(_ statements: [String]) async throws -> [QueryResult] {
        guard sessionSettings != nil, statements.count > 1 else { return try await queriesOneByOne(statements) }
        let results = try await run(statements.map(Self.withoutTerminator).joined(separator: "\n;\n"))
        guard results.count >= statements.count else {
            throw PostgresError(kind: .queryFailed, message: "\(statements.count) statements sent, \(results.count) results returned")
        }
        return Array(results.suffix(statements.count))
    }

    /// Runs `text`, with the session settings in front when they must be (re)applied, and
    /// returns every statement's result (the settings' included).
    private func run(_ text: String) async throws -> [QueryResult] {
        var text = text
        let mustApply = sessionSettings != nil && pooled.appliedSettings.withLock { $0 } != sessionSettings
        if mustApply, let sessionSettings { text = sessionSettings + text }
        do {
            let results = try await pooled.connection.queryEach(text, timeout: clientTimeout, on: blocking)
            if mustApply { pooled.appliedSettings.withLock { $0 = sessionSettings } }
            return results
        } catch {
            // A failed statement rolls back the SETs sent with it.
            if mustApply { pooled.appliedSettings.withLock { $0 = nil } }
            throw error
        }
    }

    /// `sql` without trailing `;` and blanks, so that statements can be joined with `;`.
    private static func withoutTerminator(_ sql: String) -> Substring {
        var text = Substring(sql)
        while let last = text.last, last == ";" || last.isWhitespace { text.removeLast() }
        return text
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
