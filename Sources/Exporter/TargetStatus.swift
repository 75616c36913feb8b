public import Foundation
public import PostgresClient
import Exposition

/// What the status page at `/` shows of one target: kept by its scraper from the scrapes it
/// makes anyway, so reading it never queries the target. Safe to show: no host, no DSN, no secret.
public struct TargetStatus: Sendable {
    public let name: String
    public let kind: ServerInfo.Kind
    /// The last collection's results; `nil` while the target has never been scraped.
    public var lastScrape: ScrapeSummary?
    /// The last error any collection met (it stays after the target recovers), or `nil`.
    public var lastError: ErrorSummary?

    /// A PostgreSQL server's role, from `pg_replication_is_replica`.
    public enum Role: String, Sendable {
        case primary
        case standby
    }

    public struct ScrapeSummary: Sendable {
        /// When the collection finished (wall clock).
        public var at: Date
        /// How long the collection took.
        public var duration: Duration
        /// Whether the target answered (`pg_up` / `pgbouncer_up`).
        public var up: Bool
        /// When `up` last changed, or the first scrape's time if it never did.
        public var since: Date
        /// The role the target had when it last answered with one; `roleIsCurrent` is false
        /// when this collection did not read it (the target is down, or `server` failed).
        public var role: Role?
        public var roleIsCurrent: Bool
        /// A standby's `pg_replication_lag_seconds` in this collection.
        public var lagSeconds: Double?
        /// The slowest collectors of this collection, slowest first (at most three).
        public var slowest: [CollectorTime]
        /// The collectors that failed in this collection, in order.
        public var failing: [CollectorFailure]
        /// What the monitoring role cannot see, each with what would grant it (from the
        /// `capabilities` collector; kept from an earlier collection when this one lacks it).
        public var cannotSee: [MissingCapability]
    }

    public struct MissingCapability: Sendable, Equatable {
        public let capability: String
        public let grantedBy: String
    }

    public struct CollectorTime: Sendable {
        public let collector: String
        public let duration: Duration
    }

    public struct CollectorFailure: Sendable {
        public let collector: String
        public let error: ErrorSummary
    }

    public struct ErrorSummary: Sendable {
        /// When the collection that met it finished.
        public let at: Date
        public let collector: String
        public let kind: PostgresError.Kind
        /// The error's text with the target's addresses taken out (secrets never reach an error).
        public let text: String

        /// The kind in a few words, e.g. "cannot connect".
        public var kindText: String {
            switch kind {
            case .invalidConnectionString: "invalid connection string"
            case .connectionFailed: "cannot connect"
            case .connectionLost: "connection lost"
            case .queryFailed: "query failed"
            case .timedOut: "timed out"
            }
        }
    }
}

/// A target's ``TargetStatus`` as its scraper keeps it, brought up to date by each finished
/// collection.
struct TargetStatusRecord: Sendable {
    private(set) var lastScrape: TargetStatus.ScrapeSummary?
    private(set) var lastError: TargetStatus.ErrorSummary?
    /// Slowest collectors shown per target.
    static let slowestShown = 3

    /// Takes in a finished collection of `target`.
    mutating func note(_ outcomes: [CollectorOutcome], duration: Duration, target: TargetConfiguration, at now: Date = Date()) {
        let up = outcomes.contains { $0.targetAnswered }
        let since = lastScrape.flatMap { $0.up == up ? $0.since : nil } ?? now
        let failing = outcomes.compactMap { outcome in
            outcome.error.map { error in
                TargetStatus.CollectorFailure(collector: outcome.collector, error: Self.summary(error, collector: outcome.collector, target: target, at: now))
            }
        }
        if let first = failing.first { lastError = first.error }
        let isReplica = Self.value("pg_replication_is_replica", in: outcomes)
        let role = isReplica.map { $0 == 1 ? TargetStatus.Role.standby : .primary }
        // A collector that never ran (its target unreachable) took no time and is not "slow".
        let slowest = outcomes.filter { $0.duration > .zero }.sorted { $0.duration > $1.duration }.prefix(Self.slowestShown)
            .map { TargetStatus.CollectorTime(collector: $0.collector, duration: $0.duration) }
        lastScrape = TargetStatus.ScrapeSummary(
            at: now, duration: duration, up: up, since: since,
            role: role ?? lastScrape?.role, roleIsCurrent: role != nil,
            lagSeconds: role == .standby ? Self.value("pg_replication_lag_seconds", in: outcomes) : nil,
            slowest: Array(slowest), failing: failing,
            cannotSee: Self.missingCapabilities(in: outcomes) ?? lastScrape?.cannotSee ?? [])
    }

    /// The capabilities `pgstack_exporter_role_capability_missing` reports missing, or `nil`
    /// when no outcome has that family (the collector did not run).
    static func missingCapabilities(in outcomes: [CollectorOutcome]) -> [TargetStatus.MissingCapability]? {
        guard let family = outcomes.lazy.flatMap(\.families).first(where: { $0.name == capabilityFamily }) else { return nil }
        return family.samples.filter { $0.value == 1 }.map { sample in
            func label(_ name: String) -> String { sample.labels.first { $0.name == name }?.value ?? "" }
            return TargetStatus.MissingCapability(capability: label("capability"), grantedBy: label("granted_by"))
        }
    }

    static let capabilityFamily = "pgstack_exporter_role_capability_missing"

    /// The first sample of the family `name` among `outcomes`.
    private static func value(_ name: String, in outcomes: [CollectorOutcome]) -> Double? {
        outcomes.lazy.flatMap(\.families).first { $0.name == name }?.samples.first?.value
    }

    private static func summary(_ error: PostgresError, collector: String, target: TargetConfiguration, at now: Date) -> TargetStatus.ErrorSummary {
        TargetStatus.ErrorSummary(at: now, collector: collector, kind: error.kind, text: Self.withoutAddresses(error.description, of: target.connectionString))
    }

    /// `message` (already free of secrets: ``ConnectionString/redact(_:)``) without the
    /// addresses libpq puts in it, for a page that promises never to show a host: each
    /// `connection to server at "host" (address), port N failed:` prefix is cut to its reason,
    /// a host name lookup failure names no host, the "Is the server running…" hint goes, and
    /// the target's host and hostaddr values left anywhere are replaced.
    static func withoutAddresses(_ message: String, of connection: ConnectionString) -> String {
        var text = message.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        while let prefix = text.range(of: "connection to server "), let failed = text[prefix.upperBound...].range(of: " failed: ") {
            text.replaceSubrange(prefix.lowerBound..<failed.upperBound, with: "")
        }
        while let lookup = text.range(of: "could not translate host name "), let to = text[lookup.upperBound...].range(of: " to address") {
            text.replaceSubrange(lookup.lowerBound..<to.upperBound, with: "could not translate the host name to an address")
        }
        while let hint = text.range(of: "Is the server running"), let end = text[hint.upperBound...].firstIndex(of: "?") {
            text.replaceSubrange(hint.lowerBound...end, with: "")
        }
        let hosts = ["host", "hostaddr"].compactMap { connection.options[$0] }
            .flatMap { $0.split(separator: ",").map(String.init) }
            .filter { !$0.isEmpty }
            .sorted { $0.count > $1.count }  // a longer name first, so a shorter one inside it cannot leave a piece
        for host in hosts {
            text = text.replacingOccurrences(of: host, with: "(host)")
        }
        return text.split(separator: " ").joined(separator: " ")
    }
}

extension TargetScraper {
    /// The target's status for the page at `/`, from what its collections recorded.
    func status() -> TargetStatus {
        TargetStatus(name: target.name, kind: target.kind, lastScrape: statusRecord.lastScrape, lastError: statusRecord.lastError)
    }
}
