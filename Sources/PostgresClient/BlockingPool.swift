import NIOPosix

/// The threads on which every blocking libpq call runs.
///
/// libpq's calls block their thread on the network. Swift's cooperative pool (one thread per
/// core, two here) and NIO's event loops must never block, so each call is handed to this
/// dedicated pool of threads instead. Size it to the number of connections that can be busy at
/// once (cancel requests and host name lookups take threads of their own: ``DetachedCall``).
/// Connecting and closing (``handOff(_:)``) run on a second set of threads of the same size:
/// targets that black-hole their connects hold those until the connect timeout, never the
/// threads that connected targets' queries need.
///
/// The pool is also a `TaskExecutor`: a task started with it as its executor preference
/// (`Task(executorPreference:)`) runs its nonisolated code on these threads, where
/// ``run(_:)`` calls its body directly instead of handing it over. A scrape of a target runs
/// that way: its collectors, one after the other, cost no thread hand-off per statement.
public final class BlockingPool: TaskExecutor {
    private let threads: NIOThreadPool
    /// Where ``handOff(_:)`` runs its calls.
    private let handOffThreads: NIOThreadPool
    /// How many threads it runs for queries (and as many again for hand-offs).
    public let threadCount: Int
    /// Set on a thread once it has run one of this pool's tasks: it is one of ours.
    private let ownThread = ThreadSpecificVariable<OwnThread>()

    /// Starts `threadCount` threads for queries and as many for hand-offs.
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        threads = NIOThreadPool(numberOfThreads: self.threadCount)
        handOffThreads = NIOThreadPool(numberOfThreads: self.threadCount)
        threads.start()
        handOffThreads.start()
    }

    /// Runs `body` on one of the pool's threads and returns its result: at once when called on
    /// one of them (from a task that prefers this pool as its executor), else handed over.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // No suspension between the check and `body`: the thread cannot change in between.
        if isOwnThread() { return try body() }
        return try await threads.runIfActive(body)
    }

    /// Runs `body` on one of the hand-off threads: for a call made while an actor is held (a
    /// connection pool opening or closing a connection), so that the actor serves others while
    /// `body` blocks, and so that connects hanging on unreachable targets leave the query
    /// threads free.
    public func handOff<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await handOffThreads.runIfActive(body)
    }

    /// Whether the calling thread is one of this pool's (synchronous, so that it may read the
    /// thread's own variable).
    private func isOwnThread() -> Bool {
        ownThread.currentValue != nil
    }

    /// Runs a job of a task that prefers this pool as its executor, on one of the pool's
    /// threads. Once the pool is shutting down, NIO refuses new work (and may call back on the
    /// caller's thread): the job then goes to Swift's global executor instead, where ``run(_:)``
    /// hands over and so fails rather than blocks.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        threads.submit { state in
            guard case .active = state else {
                globalConcurrentExecutor.enqueue(ExecutorJob(job))
                return
            }
            if self.ownThread.currentValue == nil { self.ownThread.currentValue = OwnThread.mark }
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// Stops the threads once the work already handed over has finished.
    public func shutdown() async throws {
        try await threads.shutdownGracefully()
        try await handOffThreads.shutdownGracefully()
    }
}

/// The mark ``BlockingPool`` leaves on its threads.
private final class OwnThread: Sendable {
    static let mark = OwnThread()
}

extension Connection {
    /// Opens a connection on `pool` (see ``connect(to:options:)``).
    /// Connecting always takes a thread of its own (``BlockingPool/handOff(_:)``): it can block
    /// for the whole connect timeout, and callers hold their pool's actor meanwhile.
    public static func connect(
        to connectionString: ConnectionString, options: Options = Options(), deadline: ContinuousClock.Instant? = nil, on pool: BlockingPool
    ) async throws -> Connection {
        try await pool.handOff { try Connection.connect(to: connectionString, options: options, deadline: deadline) }
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
