public import Logging
import Collectors
import Exposition
import PostgresClient
import Synchronization

/// The exporter's engine: scrapes its targets and encodes the result. It knows nothing of
/// HTTP; the server asks it for a body and a deadline.
public final class Exporter: Sendable {
    public let configuration: ExporterConfiguration
    private let scrapers: [TargetScraper]
    private let blocking: BlockingPool
    /// Most threads for blocking libpq calls, whatever the number of targets.
    static let maxBlockingThreads = 16
    /// Series dropped as duplicates since start.
    private let droppedSeries = Mutex(0)
    /// Requests that start work (a collection, a role check) at once; requests that only join
    /// a collection already running are never counted.
    private let newWork: ConcurrencyLimit

    public init(configuration: ExporterConfiguration, logger: Logger) {
        self.configuration = configuration
        // A thread per connection that may be busy at once (per-database ones included), up
        // to a cap: each thread costs a stack and a malloc arena, while a query waits for a free
        // thread only as long as others' queries take (docs/performance.md, the scale run).
        let connections = configuration.targets.reduce(0) { total, target in
            let perDatabase = target.collectors.contains { $0.scope == .database } ? target.databases.maxConnections : 0
            return total + target.limits.maxConnections + perDatabase
        }
        let blocking = BlockingPool(threadCount: min(connections + 1, Self.maxBlockingThreads))
        self.blocking = blocking
        newWork = ConcurrencyLimit(limit: configuration.maxRequestsStartingWork)
        let collectionBudget = Self.budget(timeout: configuration.defaultScrapeTimeout, offset: configuration.scrapeTimeoutOffset)
        scrapers = configuration.targets.map {
            TargetScraper(target: $0, blocking: blocking, minimumCollectionBudget: collectionBudget, logger: logger)
        }
    }

    /// How long a scrape may take: the scraper's `X-Prometheus-Scrape-Timeout-Seconds` (or
    /// the configured default) less the configured offset, and never less than half of it.
    public func scrapeBudget(timeoutHeader: String?) -> Duration {
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
        let selected = scrapers.filter { $0.target.inMetrics }
        return await render(selected, budget: budget) { set in
            set.add(SelfMetrics.buildInfoFamily())
            set.add(ProcessMetrics.families())
        }
    }

    /// Scrapes the one target named `name` (`/probe`): its metrics and its self metrics only.
    /// `nil` as for ``scrape(budget:)``; the caller has checked that the target exists.
    public func probe(target name: String, budget: Duration) async -> [UInt8]? {
        let selected = scrapers.filter { $0.target.name == name }
        return await render(selected, budget: budget) { _ in }
    }

    /// Answers a router's question about the target named `name` from a fresh query, or `nil`
    /// when no target has that name.
    public func answer(_ question: RoleQuestion, target name: String, maxLag: Duration? = nil) async -> RoleAnswer? {
        guard let scraper = scrapers.first(where: { $0.target.name == name }) else { return nil }
        guard newWork.tryEnter() else {
            return RoleAnswer(target: name, question: question, ok: false, reason: "exporter busy: too many requests starting work at once; retry")
        }
        defer { newWork.leave() }
        return await scraper.answer(question, maxLag: maxLag)
    }

    /// The configured target named `name`, if any.
    public func target(named name: String) -> TargetConfiguration? {
        configuration.targets.first { $0.name == name }
    }

    /// Scrapes `selected` at once and encodes their families, their self metrics and what
    /// `extra` adds.
    private func render(_ selected: [TargetScraper], budget: Duration, extra: (inout FamilySet) -> Void) async -> [UInt8]? {
        let deadline = ContinuousClock.now + budget
        let admission = Admission(limit: newWork)
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
        let total = droppedSeries.withLock { total in
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
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for scraper in self.scrapers { await scraper.shutdown() }
                try? await self.blocking.shutdown()
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
