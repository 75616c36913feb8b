import Synchronization

/// At most `limit` holders at once; one more is turned away at once, never queued, so that a
/// storm of requests cannot pile up work.
public final class ConcurrencyLimit: Sendable {
    public let limit: Int
    private let holders = Atomic(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Takes a place if one is free; a `true` answer must be followed by ``leave()``.
    public func tryEnter() -> Bool {
        if holders.wrappingAdd(1, ordering: .relaxed).newValue > limit {
            holders.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    public func leave() {
        holders.wrappingSubtract(1, ordering: .relaxed)
    }
}
