public import Logging
import Collectors
import Exposition
import PostgresClient
import NIOConcurrencyHelpers

/// The exporter's engine: scrapes its targets and encodes the result. It knows nothing of
/// HTTP; the server asks it for a body and a deadline.
public final class Exporter: Sendable {
    /// The targets and settings in force, and the scrapers that serve them; replaced whole by
    /// ``reload(_:)``. A request reads it once and works on that snapshot.
    private struct State: Sendable {
        let configuration: ExporterConfiguration
        let scrapers: [TargetScraper]
        /// The scrapers by target name: `/probe` finds its target without a pass over thousands.
        let byName: [String: TargetScraper]

        init(configuration: ExporterConfiguration, scrapers: [TargetScraper]) {
            self.configuration = configuration
            self.scrapers = scrapers
            byName = Dictionary(scrapers.map { ($0.target.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    private let state: NIOLockedValueBox<State>
    /// Series dropped as duplicates since start.
    private let droppedSeries = NIOLockedValueBox(0)
    /// Requests that start work (a collection, a role check) at once; requests that only join
    /// a collection already running are never counted.
    private let newWork: ConcurrencyLimit
    /// The same limit, for collections that must connect first (``Admission``).
    private let newConnections: ConcurrencyLimit
    private let logger: Logger
    /// Most threads for blocking libpq calls, whatever the number of targets.
    static let maxBlockingThreads = 16
    /// How the last reload went (`pgstack_exporter_config_last_reload_*`).
    private let reloads: NIOLockedValueBox<ReloadStatus>
    /// Closes connections left unused (``TargetLimits/connectionIdleTimeout``), every few
    /// seconds, and gives back unused resident memory (``ResidentMemory``) every minute.
    private let idleSweep: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    static let idleSweepInterval: Duration = .seconds(5)

    public init(configuration: ExporterConfiguration, logger: Logger) {
        self.logger = logger
        newWork = ConcurrencyLimit(limit: configuration.maxRequestsStartingWork)
        newConnections = ConcurrencyLimit(limit: configuration.maxRequestsStartingWork)
        state = NIOLockedValueBox(State(
            configuration: configuration, scrapers: Self.scrapers(for: configuration.targets, in: configuration, reusing: [], logger: logger)))
        reloads = NIOLockedValueBox(ReloadStatus())
        let sweep = Task { [weak self] in
            var lastTrim = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.idleSweepInterval)
                guard let scrapers = self?.state.withLockedValue({ $0.scrapers }) else { return }
                for scraper in scrapers { await scraper.closeIdleConnections() }
                if ContinuousClock.now - lastTrim >= ResidentMemory.interval {
                    ResidentMemory.trim()
                    lastTrim = .now
                }
            }
        }
        idleSweep.withLockedValue { $0 = sweep }
    }

    /// The targets and settings in force.
    public var configuration: ExporterConfiguration {
        state.withLockedValue { $0.configuration }
    }

    /// Scrapers for `targets` (some of `configuration`'s), on a blocking pool with a thread per
    /// connection of the configuration that may be busy at once (per-database ones included),
    /// up to a cap — each thread costs a stack, while a query waits for a free
    /// thread only as long as others' queries take (docs/performance.md, the scale run). The
    /// largest pool in use is reused when it is big enough, so reloads do not add pools.
    private static func scrapers(
        for targets: [TargetConfiguration], in configuration: ExporterConfiguration, reusing current: [TargetScraper], logger: Logger
    ) -> [TargetScraper] {
        guard !targets.isEmpty else { return [] }
        let connections = configuration.targets.reduce(0) { total, target in
            let perDatabase = target.collectors.contains { $0.scope == .database } ? target.databases.maxConnections : 0
            return total + target.limits.maxConnections + perDatabase
        }
        let wanted = min(connections + 1, Self.maxBlockingThreads)
        let largest = current.map(\.blocking).max { $0.threadCount < $1.threadCount }
        let blocking = largest.flatMap { $0.threadCount >= wanted ? $0 : nil } ?? BlockingPool(threadCount: wanted)
        let collectionBudget = budget(timeout: configuration.defaultScrapeTimeout, offset: configuration.scrapeTimeoutOffset)
        return targets.map {
            TargetScraper(target: $0, blocking: blocking, minimumCollectionBudget: collectionBudget, logger: logger)
        }
    }

    /// Puts `new` in force: targets that are new or whose settings changed get new scrapers
    /// (and connections); those unchanged keep theirs, with their connections, prepared
    /// statements and counters; those removed are closed. Requests already running finish on
    /// what they started with.
    public func reload(_ new: ExporterConfiguration) async {
        let timeoutsChanged = { (old: ExporterConfiguration) in
            old.defaultScrapeTimeout != new.defaultScrapeTimeout || old.scrapeTimeoutOffset != new.scrapeTimeoutOffset
        }
        let (retired, summary) = state.withLockedValue { state -> ([TargetScraper], String) in
            let keepAll = !timeoutsChanged(state.configuration)
            // By name, in one pass each: a reload of thousands of targets holds the lock briefly.
            let kept = new.targets.compactMap { target in
                keepAll ? state.byName[target.name].flatMap { $0.target.hasSameSetup(as: target) ? $0 : nil } : nil
            }
            let keptByName = Dictionary(kept.map { ($0.target.name, $0) }, uniquingKeysWith: { first, _ in first })
            let added = new.targets.filter { keptByName[$0.name] == nil }
            let fresh = Self.scrapers(for: added, in: new, reusing: kept, logger: logger)
            let freshByName = Dictionary(fresh.map { ($0.target.name, $0) }, uniquingKeysWith: { first, _ in first })
            let scrapers = new.targets.compactMap { keptByName[$0.name] ?? freshByName[$0.name] }
            let keptIDs = Set(kept.map(ObjectIdentifier.init))
            let retired = state.scrapers.filter { !keptIDs.contains(ObjectIdentifier($0)) }
            state = State(configuration: new, scrapers: scrapers)
            return (retired, "\(new.targets.count) targets: \(kept.count) kept, \(added.count) new or changed, \(retired.count) closed")
        }
        reloads.withLockedValue { $0 = ReloadStatus() }
        logger.info("configuration reloaded", metadata: ["targets": .string(summary)])
        // Not awaited: a collection still running on a retired target ends only by its deadline.
        Task {
            await withTaskGroup(of: Void.self) { group in
                for scraper in retired { group.addTask { await scraper.retire() } }
            }
            await Self.stopUnusedPools(retired, keeping: self.state.withLockedValue { $0.scrapers })
        }
    }

    /// Records a reload that failed: the configuration in force stays.
    public func reloadFailed() {
        reloads.withLockedValue { $0.successful = false }
    }

    /// Stops the blocking pools of `retired` scrapers that no scraper in force uses.
    private static func stopUnusedPools(_ retired: [TargetScraper], keeping current: [TargetScraper]) async {
        var seen = Set(current.map { ObjectIdentifier($0.blocking) })  // pools in use, then those stopped
        for pool in retired.map(\.blocking) where seen.insert(ObjectIdentifier(pool)).inserted {
            try? await pool.shutdown()
        }
    }

    /// How long a scrape may take: the scraper's `X-Prometheus-Scrape-Timeout-Seconds` (or
    /// the configured default) less the configured offset, and never less than half of it.
    public func scrapeBudget(timeoutHeader: String?) -> Duration {
        let configuration = self.configuration
        var timeout = configuration.defaultScrapeTimeout
        // An unusable header (not a number, zero, negative, inf, nan, over a year) means
        // "use the configured timeout".
        if let header = timeoutHeader, let seconds = Double(header.trimmingWhitespace()), seconds > 0,
           let duration = DurationText.duration(seconds: seconds), duration > .zero {
            timeout = duration
        }
        return Self.budget(timeout: timeout, offset: configuration.scrapeTimeoutOffset)
    }

    private static func budget(timeout: Duration, offset: Duration) -> Duration {
        max(timeout - offset, timeout / 2)
    }

    /// Scrapes every target that `/metrics` serves, at once, and returns the text exposition
    /// body with the exporter's own and process metrics. Always returns: a target that is
    /// down or slow yields `*_up 0` and `collector_success 0` within `budget`. `nil` when the
    /// scrape would have to start a collection and too many requests are starting work already.
    public func scrape(budget: Duration) async -> [UInt8]? {
        let selected = state.withLockedValue { $0.scrapers }.filter { $0.target.inMetrics }
        let reload = reloads.withLockedValue { $0 }
        return await render(selected, budget: budget) { set in
            set.add(SelfMetrics.buildInfoFamily())
            set.add(SelfMetrics.reloadFamilies(reload))
            set.add(ProcessMetrics.families())
        }
    }

    /// Scrapes the one target named `name` (`/probe`): its metrics and its self metrics only.
    /// `nil` as for ``scrape(budget:)``; the caller has checked that the target exists.
    public func probe(target name: String, budget: Duration) async -> [UInt8]? {
        let selected = state.withLockedValue { $0.byName[name] }
        return await render(selected.map { [$0] } ?? [], budget: budget) { _ in }
    }

    /// Answers a router's question about the target named `name` from a fresh query, or `nil`
    /// when no target has that name.
    public func answer(_ question: RoleQuestion, target name: String, maxLag: Duration? = nil) async -> RoleAnswer? {
        guard let scraper = state.withLockedValue({ $0.byName[name] }) else { return nil }
        guard newWork.tryEnter() else {
            return RoleAnswer(target: name, question: question, ok: false, reason: "exporter busy: too many requests starting work at once; retry")
        }
        defer { newWork.leave() }
        return await scraper.answer(question, maxLag: maxLag)
    }

    /// Every target's status, in configuration order, for the page at `/`: what the last
    /// collections recorded, with no query of its own.
    public func status() async -> [TargetStatus] {
        var statuses: [TargetStatus] = []
        for scraper in state.withLockedValue({ $0.scrapers }) { statuses.append(await scraper.status()) }
        return statuses
    }

    /// The configured target named `name`, if any.
    public func target(named name: String) -> TargetConfiguration? {
        state.withLockedValue { $0.byName[name]?.target }
    }

    /// Scrapes `selected` at once and encodes their families, their self metrics and what
    /// `extra` adds.
    private func render(_ selected: [TargetScraper], budget: Duration, extra: (inout FamilySet) -> Void) async -> [UInt8]? {
        let deadline = ContinuousClock.now + budget
        let admission = Admission(collecting: newWork, connecting: newConnections)
        defer { admission.end() }
        let results = await withTaskGroup(of: (Int, TargetScrape?).self) { group in
            for (index, scraper) in selected.enumerated() {
                group.addTask { (index, await scraper.scrape(deadline: deadline, admission: admission)) }
            }
            var results: [(Int, TargetScrape?)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let scrapes = results.compactMap { $0 }
        guard scrapes.count == results.count else { return nil }

        var set = FamilySet()
        for scrape in scrapes {
            let target = Label("target", scrape.target.name)
            for outcome in scrape.outcomes {
                set.add(outcome.families.map { $0.labelled(target) })
            }
        }
        let total = droppedSeries.withLockedValue { total in
            total += set.droppedSeries
            return total
        }
        set.add(SelfMetrics.families(for: scrapes))
        set.add(SelfMetrics.droppedSeriesFamily(total))
        extra(&set)
        return TextEncoder.encode(set.families)
    }

    /// Closes every idle connection and stops the blocking threads, for at most `limit`: a
    /// thread may sit in a query to a frozen server until its deadline, and a stopping
    /// exporter does not wait for it.
    public func shutdown(limit: Duration = .seconds(1)) async {
        idleSweep.withLockedValue { $0?.cancel() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let scrapers = self.state.withLockedValue { $0.scrapers }
                for scraper in scrapers { await scraper.shutdown() }
                await Self.stopUnusedPools(scrapers, keeping: [])
            }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }
}

extension MetricFamily {
    /// The family with `label` first on every sample.
    fileprivate func labelled(_ label: Label) -> MetricFamily {
        var copy = self
        for index in copy.samples.indices {
            copy.samples[index].labels.insert(label, at: 0)
        }
        return copy
    }
}
