import NIOPosix

/// The threads on which every blocking libpq call runs.
///
/// libpq's calls block their thread on the network. Swift's cooperative pool (one thread per
/// core, two here) and NIO's event loops must never block, so each call is handed to this
/// dedicated pool of threads instead. Size it to the number of connections that can be busy at
/// once, plus room for cancel requests.
public final class BlockingPool: Sendable {
    private let threads: NIOThreadPool

    /// Starts `threadCount` threads.
    public init(threadCount: Int) {
        threads = NIOThreadPool(numberOfThreads: max(1, threadCount))
        threads.start()
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    /// Stops the threads once the work already handed over has finished.
    public func shutdown() async throws {
        try await threads.shutdownGracefully()
    }
}

extension Connection {
    /// Opens a connection on `pool` (see ``connect(to:options:)``).
    public static func connect(to connectionString: ConnectionString, options: Options = Options(), on pool: BlockingPool) async throws -> Connection {
        try await pool.run { try Connection.connect(to: connectionString, options: options) }
    }

    /// Runs `sql` on `pool`, and cancels it on the server (`PQcancel`) if it is still running
    /// after `timeout` (the pool's thread keeps the time: see ``executeEach(_:deadline:cancelGrace:)``).
    /// Of several statements, the last one's rows are returned.
    /// - Throws: ``PostgresError``; ``PostgresError/Kind/timedOut`` when the deadline passed.
    public func query(_ sql: String, timeout: Duration, on pool: BlockingPool) async throws -> QueryResult {
        try await queryEach(sql, timeout: timeout, on: pool).last ?? QueryResult(columns: [], rows: [])
    }

    /// Runs a text of `;`-separated statements on `pool` in one round trip, like
    /// ``query(_:timeout:on:)``, and returns each statement's rows in order.
    public func queryEach(_ sql: String, timeout: Duration, on pool: BlockingPool) async throws -> [QueryResult] {
        let deadline = ContinuousClock.now + timeout
        do {
            return try await pool.run { try self.executeEach(sql, deadline: deadline) }
        } catch let error as PostgresError where error.kind == .timedOut {
            throw PostgresError(kind: .timedOut, sqlState: error.sqlState, message: "query cancelled after \(timeout): \(error.message)")
        }
    }
}
