import Dispatch
import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// Blocking calls that libpq 15 gives no way to bound (`PQcancel`, which waits for the server
/// to close its socket, and the host name lookup), run on a thread of their own so that the
/// caller waits only as long as it chooses: a frozen server or a dead resolver then holds that
/// thread, never one of the ``BlockingPool``'s, and never the caller.
enum DetachedCall {
    /// Most such threads at once; a call beyond that is refused rather than queued, so a
    /// server that never answers cannot make the exporter grow threads without bound.
    static let maximumRunning = 32
    private static let running = Atomic(0)

    /// Starts `body` on a new thread and returns at once; `false` (and `body` not run) when
    /// ``maximumRunning`` threads are busy.
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        guard running.wrappingAdd(1, ordering: .relaxed).newValue <= maximumRunning else {
            running.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        let thread = Thread {
            body()
            running.wrappingSubtract(1, ordering: .relaxed)
        }
        thread.stackSize = 256 * 1024
        thread.start()
        return true
    }

    /// Runs `body` on a new thread and waits for its result until `deadline`: `nil` when the
    /// deadline passed first (the thread finishes on its own) or no thread was free.
    static func run<T: Sendable>(until deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () -> T) -> T? {
        let result = NIOLockedValueBox<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let started = start {
            let value = body()
            result.withLockedValue { $0 = value }
            done.signal()
        }
        guard started else { return nil }
        let wait = deadline - .now
        let nanoseconds = max(0, wait.components.seconds) * 1_000_000_000 + max(0, wait.components.attoseconds / 1_000_000_000)
        guard done.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds))) == .success else { return nil }
        return result.withLockedValue { $0 }
    }
}
