import Collectors
import Exposition
import Logging
import PostgresClient

/// Scrapes one target: runs its collectors on the target's pooled connections, lets
/// concurrent scrapes share one collection, and keeps the target's cumulative counters.
actor TargetScraper {
    let target: TargetConfiguration
    private let pool: ConnectionPool
    /// Connections to each database, for the per-database collectors.
    private let databaseConnections: DatabaseConnections
    /// The databases found last, and when.
    private var discovered: (names: [String], at: ContinuousClock.Instant)?
    /// The readings of each ``Collector/refreshesWithDiscovery`` collector, by database: a pass
    /// cut short by the deadline keeps what it read, and the next scrape goes on with the rest.
    private var keptReadings: [String: [String: (families: [MetricFamily], at: ContinuousClock.Instant)]] = [:]
    let blocking: BlockingPool
    /// The `SET …` statements for this target's sessions (PostgreSQL), made once from its limits.
    private let sessionSettings: [String]?
    private let logger: Logger
    /// Slowly changing results kept between scrapes, this target's alone.
    private let resultCache = QueryResultCache()
    /// How long a collection may run at least, whatever the deadline of the scrape that
    /// started it: a caller's tiny timeout header must not cut short a collection that others
    /// join.
    private let minimumCollectionBudget: Duration
    /// The collection running now, which scrapes that arrive join; `nil` once it is finished,
    /// so that a target scraped rarely (through `/probe`) holds no families between scrapes.
    private var currentRun: CollectionRun?
    /// Failed collections per collector since start (`pgstack_exporter_collector_errors_total`).
    private var errorTotals: [String: Int] = [:]
    /// Series cut by the series budget per collector since start
    /// (`pgstack_exporter_series_dropped_total`).
    private var seriesDroppedTotals: [String: Int] = [:]
    /// The collectors cut by the budget in the last collection, so the warning is said once.
    private var overBudget: Set<String> = []
    /// The last error logged per collector, so a failure that repeats every scrape is logged
    /// once (then at debug level) instead of flooding the log.
    private var lastLoggedError: [String: String] = [:]
    /// What the role could not see when last logged (`nil`: not yet known).
    private var loggedMissingCapabilities: [TargetStatus.MissingCapability]?
    /// What the status page shows of this target, from the collections that finished.
    private(set) var statusRecord = TargetStatusRecord()

    init(target: TargetConfiguration, blocking: BlockingPool, minimumCollectionBudget: Duration, logger: Logger) {
        self.target = target
        self.minimumCollectionBudget = minimumCollectionBudget
        self.blocking = blocking
        self.pool = ConnectionPool(target: target, blocking: blocking)
        self.databaseConnections = DatabaseConnections(target: target, blocking: blocking)
        self.sessionSettings = target.kind == .postgres ? TargetQueryRunner.postgresSettings(for: target.limits) : nil
        var logger = logger
        logger[metadataKey: "target"] = .string(target.name)
        self.logger = logger
    }

    /// Collects the target, or joins the collection already running, and returns what has
    /// finished by `deadline`. A joining scrape extends the collection's deadline to its own;
    /// `nil` when a collection would have to start and `admission` is refused.
    func scrape(deadline: ContinuousClock.Instant, admission: Admission) async -> TargetScrape? {
        // Read first: no suspension between looking at `currentRun` and setting it.
        let connects = await pool.openConnections == 0
        let run: CollectionRun
        if let currentRun {
            run = currentRun
            run.extend(to: deadline)
        } else {
            guard admission.claim(connects: connects) else { return nil }
            run = CollectionRun(deadline: max(deadline, .now + minimumCollectionBudget), maxSeries: target.limits.maxSeries)
            currentRun = run
            // On the blocking pool's threads: the collectors' statements run there directly.
            Task(executorPreference: blocking) {
                let outcomes = await self.collect(into: run)
                await self.finish(run, outcomes: outcomes)
            }
        }
        await run.wait(until: deadline)
        return TargetScrape(
            target: target, outcomes: run.outcomes, duration: .now - run.startedAt,
            errorTotals: errorTotals, seriesDroppedTotals: seriesDroppedTotals, openConnections: await pool.openConnections + (await databaseConnections.openConnections))
    }

    /// Stops serving a target a reload removed or changed: lets a collection in flight finish
    /// (it ends by its deadline), then closes the connections.
    func retire() async {
        if let currentRun {
            await currentRun.wait(until: currentRun.deadline + .seconds(1))
        }
        await shutdown()
    }

    /// Closes the connections unused for the target's ``TargetLimits/connectionIdleTimeout``.
    func closeIdleConnections() async {
        await pool.closeIdle(unusedFor: target.limits.connectionIdleTimeout)
        await databaseConnections.closeIdle(unusedFor: target.limits.connectionIdleTimeout)
    }

    /// Closes the target's connections.
    func shutdown() async {
        await pool.closeAll()
        await databaseConnections.closeAll()
    }

    /// Runs the target's collectors one after the other, publishing each outcome as it comes
    /// (the caller marks the run finished).
    ///
    /// Nonisolated, so that it runs on the executor its task prefers (the blocking pool) and
    /// holds the target's connection for the whole collection: no hop to an actor or to another
    /// thread between statements.
    private nonisolated func collect(into run: CollectionRun) async -> [CollectorOutcome] {
        var unreachable: PostgresError?
        var lease: Lease?
        collecting: for collector in target.collectors {
            let started = ContinuousClock.now
            let deadline = run.deadline
            let outcome: CollectorOutcome
            if let unreachable {
                // Connecting just failed: the other collectors would only fail the same way.
                outcome = CollectorOutcome(collector: collector.name, families: [], error: unreachable, duration: .zero)
            } else {
                do {
                    let (families, partialFailure) = try await execute(collector, lease: &lease, deadline: deadline)
                    outcome = CollectorOutcome(collector: collector.name, families: families, error: partialFailure, duration: .now - started)
                } catch is CancellationError {
                    break collecting  // the exporter is shutting down: nothing more to collect or to log
                } catch {
                    let failure = error as? PostgresError ?? PostgresError(kind: .queryFailed, message: "\(error)")
                    if failure.kind == .connectionFailed { unreachable = failure }
                    outcome = CollectorOutcome(collector: collector.name, families: [], error: failure, duration: .now - started)
                }
            }
            run.record(outcome)
            // A role check waiting for the connection goes before the next collector.
            if let held = lease, pool.hasWaiters {
                await pool.release(held.pooled)
                lease = nil
            }
        }
        if let lease { await pool.release(lease.pooled) }
        return run.outcomes
    }

    /// Runs one collector: a cluster-wide one on the target's connection (`lease`, checked out
    /// if need be), a per-database one through ``executeInEachDatabase(_:deadline:)``.
    private nonisolated func execute(
        _ collector: Collector, lease: inout Lease?, deadline: ContinuousClock.Instant
    ) async throws -> ([MetricFamily], PostgresError?) {
        guard collector.scope == .database else {
            let families = try await withRunner(on: pool, lease: &lease, deadline: deadline, timeout: timeout(of: collector)) {
                try await collector.collect(from: $0)
            }
            return (families, nil)
        }
        // Discovery needs the target's connection: give it back first.
        if let held = lease {
            await pool.release(held.pooled)
            lease = nil
        }
        return try await executeInEachDatabase(collector, deadline: deadline)
    }

    /// Runs a per-database collector once in each discovered database. A database that fails
    /// does not hide the others: their families are kept and the failure is returned beside them.
    private func executeInEachDatabase(_ collector: Collector, deadline: ContinuousClock.Instant) async throws -> ([MetricFamily], PostgresError?) {
        let timeout = timeout(of: collector)
        var families: [MetricFamily] = []
        var failure: PostgresError?
        for database in try await discoveredDatabases(deadline: deadline) {
            if collector.refreshesWithDiscovery, let kept = keptReadings[collector.name]?[database],
               ContinuousClock.now - kept.at < target.databases.refresh {
                families += kept.families
                continue
            }
            // The database the target's own connection is in is read on that connection: a
            // server with one database costs one connection, not two.
            let pool = database == target.connectionString.database ? pool : await databaseConnections.pool(for: database)
            do {
                let read = try await withRunner(on: pool, deadline: deadline, timeout: timeout) { try await collector.collect(from: $0) }
                families += read
                if collector.refreshesWithDiscovery { keptReadings[collector.name, default: [:]][database] = (read, .now) }
            } catch {
                failure = failure ?? (error as? PostgresError) ?? PostgresError(kind: .queryFailed, message: "\(error)")
                discovered = nil  // a database may have gone: look again next time
            }
        }
        return (families, failure)
    }

    /// A collector's own timeout (a custom query's), else the target's collector timeout.
    private nonisolated func timeout(of collector: Collector) -> Duration {
        collector.timeout ?? target.limits.collectorTimeout
    }

    /// The target's databases (``DatabaseDiscovery``), read again once `refresh` has passed.
    private func discoveredDatabases(deadline: ContinuousClock.Instant) async throws -> [String] {
        if let discovered, ContinuousClock.now - discovered.at < target.databases.refresh {
            return discovered.names
        }
        let sql = target.databases.sql
        let result = try await withRunner(on: pool, deadline: deadline, timeout: target.limits.collectorTimeout) { try await $0.query(sql) }
        let names = result.rows.compactMap { $0.first ?? nil }
        await databaseConnections.keep(only: names)
        let current = Set(names)
        keptReadings = keptReadings.mapValues { $0.filter { current.contains($0.key) } }
        discovered = (names, .now)
        return names
    }

    /// Runs `body` with a runner on the target's own connection (see ``withRunner(on:deadline:timeout:_:)``).
    nonisolated func withRunner<T>(
        deadline: ContinuousClock.Instant, timeout: Duration, _ body: (TargetQueryRunner) async throws -> T
    ) async throws -> T {
        try await withRunner(on: pool, deadline: deadline, timeout: timeout, body)
    }

    /// Runs `body` with a runner on a connection from `pool`, within `timeout` and `deadline`,
    /// and gives the connection back.
    private nonisolated func withRunner<T>(
        on pool: ConnectionPool, deadline: ContinuousClock.Instant, timeout: Duration, _ body: (TargetQueryRunner) async throws -> T
    ) async throws -> T {
        var lease: Lease?
        do {
            let result = try await withRunner(on: pool, lease: &lease, deadline: deadline, timeout: timeout, body)
            if let lease { await pool.release(lease.pooled) }
            return result
        } catch {
            if let lease { await pool.release(lease.pooled) }
            throw error
        }
    }

    /// Runs `body` with a runner on `lease`'s connection, checked out from `pool` first if
    /// `lease` is empty; the connection stays leased for the caller's next use. A reused
    /// connection that turns out broken (the server restarted since its last use) is replaced
    /// once, so the first scrape after a restart is already complete; a broken connection is
    /// never kept.
    private nonisolated func withRunner<T>(
        on pool: ConnectionPool, lease: inout Lease?, deadline: ContinuousClock.Instant, timeout: Duration,
        _ body: (TargetQueryRunner) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            guard deadline - .now > .zero else {
                throw PostgresError(kind: .timedOut, message: "deadline reached before the query could run")
            }
            let current: Lease
            if let lease {
                current = lease
            } else {
                let (pooled, reused) = try await pool.checkout(deadline: deadline)
                current = Lease(pooled: pooled, reused: reused)
            }
            lease = current
            let runner = TargetQueryRunner(
                pooled: current.pooled, blocking: blocking,
                clientTimeout: min(timeout, deadline - .now),
                sessionSettings: timeout == target.limits.collectorTimeout ? sessionSettings : settings(statementTimeout: timeout),
                options: target.options,
                cache: resultCache)
            do {
                let result = try await body(runner)
                lease?.reused = true
                return result
            } catch {
                // A connection that broke (or that a timed-out query left closed) is never kept.
                let lost = (error as? PostgresError)?.kind == .connectionLost
                if lost || current.pooled.connection.isBroken {
                    lease = nil
                    await pool.release(current.pooled, discard: true)
                    if lost && current.reused && attempt == 1 { continue }
                }
                throw error
            }
        }
    }

    /// The `SET LOCAL` statements for a statement timeout other than the target's collector
    /// timeout (a custom query's own, a role check's); `nil` on PgBouncer.
    private nonisolated func settings(statementTimeout: Duration) -> [String]? {
        guard sessionSettings != nil else { return nil }
        var limits = target.limits
        limits.collectorTimeout = statementTimeout
        return TargetQueryRunner.postgresSettings(for: limits)
    }

    /// Counts and logs a finished run's outcomes, then lets its scrapes go.
    private func finish(_ run: CollectionRun, outcomes: [CollectorOutcome]) {
        outcomes.forEach(note)
        noteCapabilities(outcomes)
        statusRecord.note(outcomes, duration: .now - run.startedAt, target: target)
        if currentRun === run { currentRun = nil }
        run.finish()
    }

    /// Counts and logs an outcome. A failure is logged when it starts or changes, and a
    /// failure that repeats every scrape only at debug level; a target that cannot be reached
    /// is one log line, not one per collector.
    private func note(_ outcome: CollectorOutcome) {
        let name = outcome.collector
        noteBudget(outcome)
        guard let error = outcome.error else {
            if lastLoggedError.removeValue(forKey: Self.connectionKey) != nil {
                logger.info("target reachable again")
            }
            if lastLoggedError.removeValue(forKey: name) != nil {
                logger.info("collector recovered", metadata: ["collector": .string(name)])
            }
            return
        }
        errorTotals[name, default: 0] += 1
        let unreachable = error.kind == .connectionFailed
        let key = unreachable ? Self.connectionKey : name
        var metadata: Logger.Metadata = ["error": .string(error.description)]
        if !unreachable { metadata["collector"] = .string(name) }
        if lastLoggedError[key] == error.description {
            logger.debug(unreachable ? "target still unreachable" : "collector failed again", metadata: metadata)
        } else {
            lastLoggedError[key] = error.description
            logger.warning(unreachable ? "target unreachable" : "collector failed", metadata: metadata)
        }
    }

    /// Says once, when the target is first read and whenever it changes, what the monitoring
    /// role cannot see and what would grant it.
    private func noteCapabilities(_ outcomes: [CollectorOutcome]) {
        guard let missing = TargetStatusRecord.missingCapabilities(in: outcomes), missing != loggedMissingCapabilities else { return }
        defer { loggedMissingCapabilities = missing }
        guard !missing.isEmpty else {
            if loggedMissingCapabilities != nil { logger.info("the monitoring role now sees everything the collectors read") }
            return
        }
        logger.warning("the monitoring role cannot see everything; those metrics are absent, not partial", metadata: [
            "missing": .string(missing.map { "\($0.capability) (grant: \($0.grantedBy))" }.joined(separator: "; ")),
        ])
    }

    /// Counts series the budget cut; warns when a collector starts going over it.
    private func noteBudget(_ outcome: CollectorOutcome) {
        let name = outcome.collector
        guard outcome.droppedSeries > 0 else {
            if overBudget.remove(name) != nil {
                logger.info("collector within the series budget again", metadata: ["collector": .string(name)])
            }
            return
        }
        seriesDroppedTotals[name, default: 0] += outcome.droppedSeries
        if overBudget.insert(name).inserted {
            logger.warning("collector cut: its series would exceed the target's max_series", metadata: [
                "collector": .string(name), "series": .string("\(outcome.droppedSeries)"),
                "max_series": .string("\(target.limits.maxSeries)"),
            ])
        }
    }

    /// Logs a failed role check's details when they change (the answer's body says only
    /// their kind).
    func noteCheckFailure(_ failure: PostgresError) {
        guard lastLoggedError[Self.checkKey] != failure.description else { return }
        lastLoggedError[Self.checkKey] = failure.description
        logger.warning("role check failed", metadata: ["error": .string(failure.description)])
    }

    private static let connectionKey = "(connection)"
    private static let checkKey = "(check)"
}

/// A connection checked out of a target's pool and kept across collectors.
struct Lease {
    let pooled: PooledConnection
    /// Whether it ran statements before (then a broken one is replaced and the work retried).
    var reused: Bool
}

/// What one scrape of one target returned.
struct TargetScrape: Sendable {
    let target: TargetConfiguration
    /// The collectors that finished, in order; the others did not finish by the deadline.
    let outcomes: [CollectorOutcome]
    let duration: Duration
    let errorTotals: [String: Int]
    let seriesDroppedTotals: [String: Int]
    let openConnections: Int

    /// Whether the target answered this scrape (`pg_up` / `pgbouncer_up`).
    var up: Bool { outcomes.contains { $0.targetAnswered } }
}
