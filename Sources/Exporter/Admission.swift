import NIOConcurrencyHelpers

/// One request's places under the exporter's limits of requests that start work: claimed when
/// the request first has to start a collection (a request that only joins running ones never
/// claims one), given back when the request ends.
///
/// Collections of targets already connected and collections that must connect first have a
/// limit each (both `--web.max-requests`): connecting costs seconds of CPU per hundred targets
/// (authentication), so while hundreds of targets connect — at start, after a restart of a
/// pooler — probes of connected targets are still answered.
final class Admission: Sendable {
    private let collecting: ConcurrencyLimit
    private let connecting: ConcurrencyLimit
    private let state = NIOLockedValueBox(Claims())

    private enum Claim {
        case none, held, refused

        /// Takes a place under `limit` the first time; that first answer holds.
        mutating func take(from limit: ConcurrencyLimit) -> Bool {
            if self == .none { self = limit.tryEnter() ? .held : .refused }
            return self == .held
        }
    }
    private struct Claims {
        var collecting = Claim.none
        var connecting = Claim.none
    }

    init(collecting: ConcurrencyLimit, connecting: ConcurrencyLimit) {
        self.collecting = collecting
        self.connecting = connecting
    }

    /// Whether the request may start a collection that must connect first (`connects`) or one
    /// of a connected target; the first answer of each kind holds for the whole request.
    func claim(connects: Bool) -> Bool {
        state.withLockedValue { claims in
            connects ? claims.connecting.take(from: connecting) : claims.collecting.take(from: collecting)
        }
    }

    func end() {
        let claims = state.withLockedValue { claims in
            defer { claims = Claims() }
            return claims
        }
        if claims.collecting == .held { collecting.leave() }
        if claims.connecting == .held { connecting.leave() }
    }
}
