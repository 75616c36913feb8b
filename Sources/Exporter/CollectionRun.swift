import Exposition
import PostgresClient
import NIOConcurrencyHelpers

/// What one collector produced in one collection.
struct CollectorOutcome: Sendable {
    let collector: String
    let families: [MetricFamily]
    /// `nil` when the collector succeeded.
    let error: PostgresError?
    let duration: Duration
    /// Series cut because they would have taken the target past its series budget.
    var droppedSeries = 0

    var succeeded: Bool { error == nil }
    /// Whether the target answered (rows, or an error of its own), which is what `*_up` means.
    var targetAnswered: Bool { error.map(\.serverAnswered) ?? true }
}

/// One collection of one target, shared by every scrape that arrives while it runs (single
/// flight). Outcomes are published as each collector finishes, so a scrape whose deadline
/// passes first still serves what finished.
final class CollectionRun: Sendable {
    let startedAt = ContinuousClock.now
    private let state: NIOLockedValueBox<State>
    /// The target's series budget (``TargetLimits/maxSeries``).
    private let maxSeries: Int

    init(deadline: ContinuousClock.Instant, maxSeries: Int = .max) {
        state = NIOLockedValueBox(State(deadline: deadline))
        self.maxSeries = maxSeries
    }

    private struct State {
        /// When the collection gives up: the latest deadline of the scrapes that share it.
        var deadline: ContinuousClock.Instant
        var outcomes: [CollectorOutcome] = []
        /// Series in `outcomes`.
        var series = 0
        var finished = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    /// When the collection gives up (read before each collector).
    var deadline: ContinuousClock.Instant { state.withLockedValue { $0.deadline } }

    /// Lets the collection run until `deadline` if that is later than its own.
    func extend(to deadline: ContinuousClock.Instant) {
        state.withLockedValue { $0.deadline = max($0.deadline, deadline) }
    }

    /// The outcomes so far.
    var outcomes: [CollectorOutcome] { state.withLockedValue { $0.outcomes } }

    /// Publishes a collector's outcome; one that would take the target past its series budget
    /// is cut whole for this collection (its series counted as dropped), so the scrape stays
    /// complete for the other collectors and the exporter's own metrics.
    func record(_ outcome: CollectorOutcome) {
        let series = outcome.families.reduce(0) { $0 + $1.samples.count }
        state.withLockedValue { state in
            if state.series + series > maxSeries {
                var cut = CollectorOutcome(collector: outcome.collector, families: [], error: outcome.error, duration: outcome.duration)
                cut.droppedSeries = series
                state.outcomes.append(cut)
            } else {
                state.series += series
                state.outcomes.append(outcome)
            }
        }
    }

    /// Marks the run complete and wakes every waiting scrape.
    func finish() {
        let waiters = state.withLockedValue { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns when the run finishes or `deadline` passes, whichever is first.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilFinished() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns when the run finishes, or at once when the calling task is cancelled.
    private func waitUntilFinished() async {
        let id = state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLockedValue { state in
                    if state.finished || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
