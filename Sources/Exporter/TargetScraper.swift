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
    private let blocking: BlockingPool
    /// The `SET …` prefix for this target's sessions (PostgreSQL), made once from its limits.
    private let sessionSettings: String?
    private let logger: Logger
    private var currentRun: CollectionRun?
    /// Failed collections per collector since start (`pgstack_exporter_collector_errors_total`).
    private var errorTotals: [String: Int] = [:]
    /// The last error logged per collector, so a failure that repeats every scrape is logged
    /// once (then at debug level) instead of flooding the log.
    private var lastLoggedError: [String: String] = [:]

    init(target: TargetConfiguration, blocking: BlockingPool, logger: Logger) {
        self.target = target
        self.blocking = blocking
        self.pool = ConnectionPool(target: target, blocking: blocking)
        self.databaseConnections = DatabaseConnections(target: target, blocking: blocking)
        self.sessionSettings = target.kind == .postgres ? TargetQueryRunner.postgresSettings(for: target.limits) : nil
        var logger = logger
        logger[metadataKey: "target"] = .string(target.name)
        self.logger = logger
    }

    /// Collects the target, or joins the collection already running, and returns what has
    /// finished by `deadline`.
    func scrape(deadline: ContinuousClock.Instant) async -> TargetScrape {
        let run: CollectionRun
        if let currentRun, !currentRun.isFinished {
            run = currentRun
        } else {
            run = CollectionRun()
            currentRun = run
            Task { await self.collect(into: run, deadline: deadline) }
        }
        await run.wait(until: deadline)
        return TargetScrape(
            target: target, outcomes: run.outcomes, duration: .now - run.startedAt,
            errorTotals: errorTotals, openConnections: await pool.openConnections + (await databaseConnections.openConnections))
    }

    /// Closes the target's connections.
    func shutdown() async {
        await pool.closeAll()
        await databaseConnections.closeAll()
    }

    private func collect(into run: CollectionRun, deadline: ContinuousClock.Instant) async {
        defer { run.finish() }
        var unreachable: PostgresError?
        for collector in target.collectors {
            let started = ContinuousClock.now
            let outcome: CollectorOutcome
            if let unreachable {
                // Connecting just failed: the other collectors would only fail the same way.
                outcome = CollectorOutcome(collector: collector.name, families: [], error: unreachable, duration: .zero)
            } else {
                do {
                    let (families, partialFailure) = try await execute(collector, deadline: deadline)
                    outcome = CollectorOutcome(collector: collector.name, families: families, error: partialFailure, duration: .now - started)
                } catch {
                    let failure = error as? PostgresError ?? PostgresError(kind: .queryFailed, message: "\(error)")
                    if failure.kind == .connectionFailed { unreachable = failure }
                    outcome = CollectorOutcome(collector: collector.name, families: [], error: failure, duration: .now - started)
                }
            }
            note(outcome)
            run.record(outcome)
        }
    }

    /// Runs one collector: once on the target's connection, or, for a per-database collector,
    /// once in each discovered database. A database that fails does not hide the others: their
    /// families are kept and the failure is returned beside them.
    private func execute(_ collector: any Collector, deadline: ContinuousClock.Instant) async throws -> ([MetricFamily], PostgresError?) {
        let timeout = target.limits.collectorTimeout
        guard collector.scope == .database else {
            return (try await withRunner(on: pool, deadline: deadline, timeout: timeout) { try await collector.collect(from: $0) }, nil)
        }
        var families: [MetricFamily] = []
        var failure: PostgresError?
        for database in try await discoveredDatabases(deadline: deadline) {
            let pool = await databaseConnections.pool(for: database)
            do {
                families += try await withRunner(on: pool, deadline: deadline, timeout: timeout) { try await collector.collect(from: $0) }
            } catch {
                failure = failure ?? (error as? PostgresError) ?? PostgresError(kind: .queryFailed, message: "\(error)")
                discovered = nil  // a database may have gone: look again next time
            }
        }
        return (families, failure)
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
        discovered = (names, .now)
        return names
    }

    /// Runs `body` with a runner on the target's own connection (see ``withRunner(on:deadline:timeout:_:)``).
    func withRunner<T>(
        deadline: ContinuousClock.Instant, timeout: Duration, _ body: (TargetQueryRunner) async throws -> T
    ) async throws -> T {
        try await withRunner(on: pool, deadline: deadline, timeout: timeout, body)
    }

    /// Runs `body` with a runner on a connection from `pool`, within `timeout` and `deadline`.
    /// A reused connection that turns out broken (the server restarted since the last use) is
    /// replaced once, so the first scrape after a restart is already complete.
    private func withRunner<T>(
        on pool: ConnectionPool, deadline: ContinuousClock.Instant, timeout: Duration, _ body: (TargetQueryRunner) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            guard deadline - .now > .zero else {
                throw PostgresError(kind: .timedOut, message: "deadline reached before the query could run")
            }
            let (pooled, reused) = try await pool.checkout(deadline: deadline)
            let runner = TargetQueryRunner(
                pooled: pooled, blocking: blocking,
                clientTimeout: min(timeout, deadline - .now),
                sessionSettings: sessionSettings,
                options: target.options)
            do {
                let result = try await body(runner)
                await pool.release(pooled)
                return result
            } catch let error as PostgresError where error.kind == .connectionLost {
                await pool.release(pooled, discard: true)
                if reused && attempt == 1 { continue }
                throw error
            } catch {
                await pool.release(pooled)
                throw error
            }
        }
    }

    /// Counts and logs an outcome. A failure is logged when it starts or changes, and a
    /// failure that repeats every scrape only at debug level; a target that cannot be reached
    /// is one log line, not one per collector.
    private func note(_ outcome: CollectorOutcome) {
        let name = outcome.collector
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

    private static let connectionKey = "(connection)"
}

/// What one scrape of one target returned.
struct TargetScrape: Sendable {
    let target: TargetConfiguration
    /// The collectors that finished, in order; the others did not finish by the deadline.
    let outcomes: [CollectorOutcome]
    let duration: Duration
    let errorTotals: [String: Int]
    let openConnections: Int

    /// Whether the target answered this scrape (`pg_up` / `pgbouncer_up`).
    var up: Bool { outcomes.contains { $0.targetAnswered } }
}
