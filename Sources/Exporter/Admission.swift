import NIOConcurrencyHelpers

/// One request's place under the exporter's limit of requests that start work: claimed when
/// the request first has to start a collection (a request that only joins running ones
/// never claims one), given back when the request ends.
final class Admission: Sendable {
    private let limit: ConcurrencyLimit
    private let state = NIOLockedValueBox(Claim.none)

    private enum Claim { case none, held, refused }

    init(limit: ConcurrencyLimit) {
        self.limit = limit
    }

    /// Whether the request may start work (the first answer holds for the whole request).
    func claim() -> Bool {
        state.withLockedValue { claim in
            if claim == .none { claim = limit.tryEnter() ? .held : .refused }
            return claim == .held
        }
    }

    func end() {
        let held = state.withLockedValue { claim in
            defer { claim = .none }
            return claim == .held
        }
        if held { limit.leave() }
    }
}
