import PostgresClient
import NIOConcurrencyHelpers
import Synchronization

/// The long-lived connections to one target: opened on first use, reused across scrapes,
/// never more than ``TargetLimits/maxConnections`` at once, replaced when broken or older than
/// ``TargetLimits/connectionMaxAge``.
actor ConnectionPool {
    private let target: TargetConfiguration
    private let blocking: BlockingPool
    private var idle: [PooledConnection] = []
    private var openCount = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Wake, Never>)] = [] {
        didSet { waiterCount.store(waiters.count, ordering: .relaxed) }
    }
    private var nextWaiterID: UInt64 = 0
    /// `waiters.count`, readable without a hop to the actor.
    private nonisolated let waiterCount = Atomic<Int>(0)
    /// Set by ``closeAll()``: a connection given back later (by a collection still running on a
    /// target a reload removed) is closed, not kept.
    private var closed = false

    init(target: TargetConfiguration, blocking: BlockingPool) {
        self.target = target
        self.blocking = blocking
    }

    /// Whether someone waits for a connection to come free (then a collection holding one
    /// gives it back between collectors).
    nonisolated var hasWaiters: Bool { waiterCount.load(ordering: .relaxed) > 0 }

    /// Connections now open (idle or in use).
    var openConnections: Int { openCount }

    /// A connection for exclusive use until ``release(_:discard:)``; `reused` says whether it
    /// was open before (then a broken-connection error is worth one retry on a fresh one).
    func checkout(deadline: ContinuousClock.Instant) async throws -> (connection: PooledConnection, reused: Bool) {
        while true {
            if let connection = idle.popLast() {
                if connection.isExpired(maxAge: target.limits.connectionMaxAge) || connection.connection.isBroken {
                    await close(connection)
                    continue
                }
                return (connection, true)
            }
            if openCount < target.limits.maxConnections {
                openCount += 1
                do {
                    return (try await connect(deadline: deadline), false)
                } catch {
                    openCount -= 1
                    wakeOneWaiter(with: .slotFree)
                    throw error
                }
            }
            switch await waitForRelease(until: deadline) {
            case .connection(let connection):
                if connection.isExpired(maxAge: target.limits.connectionMaxAge) {
                    await close(connection)
                    continue
                }
                return (connection, true)
            case .slotFree:
                continue
            case .expired:
                throw PostgresError(kind: .timedOut, message: "no connection to the target came free before the scrape deadline")
            }
        }
    }

    /// What a waiting checkout is woken with.
    private enum Wake {
        /// A released connection, handed straight to the longest waiter, so that a caller who
        /// checks out again at once (the next collector of a collection) cannot take it first.
        case connection(PooledConnection)
        /// A connection was closed: there is room to open one.
        case slotFree
        /// The deadline passed.
        case expired
    }

    /// Returns a connection; `discard` closes it instead (after a broken-connection error).
    func release(_ connection: PooledConnection, discard: Bool = false) async {
        if discard || closed || connection.connection.isBroken {
            await close(connection)
            wakeOneWaiter(with: .slotFree)
        } else if !waiters.isEmpty {
            wakeOneWaiter(with: .connection(connection))
        } else {
            connection.releasedAt.withLockedValue { $0 = .now }
            idle.append(connection)
        }
    }

    /// Closes the connections that have sat unused for `idleTime`: a target no longer probed
    /// (another exporter's shard now) holds no session on the server.
    func closeIdle(unusedFor idleTime: Duration) async {
        let cutoff = ContinuousClock.now - idleTime
        let stale = idle.filter { $0.releasedAt.withLockedValue { $0 } < cutoff }
        idle.removeAll { connection in stale.contains { $0 === connection } }
        for connection in stale {
            await close(connection)
            wakeOneWaiter(with: .slotFree)
        }
    }

    /// Closes every idle connection, and each one in use when it comes back (at shutdown, or
    /// when a reload removes the target).
    func closeAll() async {
        closed = true
        let connections = idle
        idle.removeAll()
        for connection in connections { await close(connection) }
    }

    private func connect(deadline: ContinuousClock.Instant) async throws -> PooledConnection {
        let options = Connection.Options(connectTimeout: target.limits.connectTimeout)
        let connection = try await Connection.connect(to: target.connectionString, options: options, deadline: deadline, on: blocking)
        return PooledConnection(connection)
    }

    private func close(_ connection: PooledConnection) async {
        openCount -= 1
        // PQfinish writes to the socket: keep it off the cooperative pool and the actor.
        try? await blocking.handOff { connection.connection.close() }
    }

    private func waitForRelease(until deadline: ContinuousClock.Instant) async -> Wake {
        nextWaiterID += 1
        let id = nextWaiterID
        let timer = Task { [weak self] in
            try await Task.sleep(until: deadline, clock: .continuous)
            await self?.expireWaiter(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            waiters.append((id, continuation))
        }
    }

    private func expireWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(returning: .expired)
    }

    private func wakeOneWaiter(with wake: Wake) {
        guard !waiters.isEmpty else { return }
        waiters.removeFirst().continuation.resume(returning: wake)
    }
}

/// A pooled connection and what the pool knows of its session.
final class PooledConnection: Sendable {
    let connection: Connection
    let openedAt = ContinuousClock.now
    /// When it was last given back to the pool.
    let releasedAt = NIOLockedValueBox(ContinuousClock.now)
    /// What the session has been sent that lasts (PostgreSQL timeouts, prepared statements).
    let session = NIOLockedValueBox(SessionState())

    init(_ connection: Connection) {
        self.connection = connection
    }

    func isExpired(maxAge: Duration) -> Bool {
        ContinuousClock.now - openedAt > maxAge
    }
}
