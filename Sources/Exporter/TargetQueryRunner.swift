import NIOConcurrencyHelpers
import Synchronization
import Collectors
import PostgresClient

/// Runs a collector's SQL on a pooled connection with the collector's timeouts.
///
/// On PostgreSQL the statements of one call go as one text (one round trip, one snapshot of the
/// statistics views), prepared on the session the first time (see ``SessionState``), with the
/// server-side timeouts (`SET LOCAL statement_timeout`, `lock_timeout`) in front. On PgBouncer nothing but each command is sent: its console takes one at
/// a time and rejects `SET` and `PREPARE`. Either way a client-side cancel fires at
/// `clientTimeout`.
struct TargetQueryRunner: QueryRunner {
    let pooled: PooledConnection
    let blocking: BlockingPool
    /// When to cancel from the client side: the collector timeout, cut to the scrape deadline.
    let clientTimeout: Duration
    /// `SET LOCAL statement_timeout …` and `SET LOCAL lock_timeout …` for PostgreSQL, `nil` for
    /// PgBouncer.
    let sessionSettings: [String]?
    let options: CollectorOptions
    /// The target's own cache of slowly changing results.
    let cache: QueryResultCache

    var server: ServerInfo { pooled.connection.server }

    var resultCache: QueryResultCache.Slot? { QueryResultCache.Slot(cache: cache, key: pooled.connection.identity) }

    func query(_ sql: String) async throws -> QueryResult {
        guard sessionSettings != nil else { return try await pooled.connection.query(sql, timeout: clientTimeout, on: blocking) }
        return try await queries([sql])[0]
    }

    func queries(_ statements: [String]) async throws -> [QueryResult] {
        guard let sessionSettings else { return try await queriesOneByOne(statements) }
        guard !statements.isEmpty else { return [] }
        let deadline = ContinuousClock.now + clientTimeout
        do {
            return try await run(statements, settings: sessionSettings, deadline: deadline)
        } catch let error as PostgresError where SessionState.meansSharedSession(error.sqlState) && pooled.session.withLockedValue({ !$0.preparing }) {
            // The session changes under us (see ``SessionState/failed(sqlState:)``): once
            // more, unprepared, within the same deadline.
            return try await run(statements, settings: sessionSettings, deadline: deadline)
        }
    }

    private func run(_ statements: [String], settings: [String], deadline: ContinuousClock.Instant) async throws -> [QueryResult] {
        let text = pooled.session.withLockedValue { $0.text(for: statements, settings: settings) }
        do {
            let results = try await pooled.connection.queryEach(text.sql, timeout: deadline - .now, on: blocking)
            guard results.count == text.resultCount else {
                throw PostgresError(kind: .queryFailed, message: "\(text.resultCount) results expected, \(results.count) returned")
            }
            pooled.session.withLockedValue { $0.succeeded(text) }
            return text.statementResults.map { results[$0] }
        } catch {
            pooled.session.withLockedValue { $0.failed(sqlState: (error as? PostgresError)?.sqlState) }
            throw error
        }
    }

    /// The `SET LOCAL` statements for a PostgreSQL target's limits, sent in front of every text;
    /// the transaction is read-only too, so that no statement (a custom query's above all) can
    /// change the server it watches.
    static func postgresSettings(for limits: TargetLimits) -> [String] {
        let statementMilliseconds = milliseconds(limits.collectorTimeout)
        let lockMilliseconds = min(milliseconds(limits.lockTimeout), statementMilliseconds)
        return [
            "SET LOCAL transaction_read_only = on", "SET LOCAL statement_timeout = \(statementMilliseconds)",
            "SET LOCAL lock_timeout = \(lockMilliseconds)",
        ]
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        Int64((DurationText.seconds(duration) * 1000).rounded())
    }
}
