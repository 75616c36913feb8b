/// An error from libpq or from the server, safe to log: its message has passed through
/// ``ConnectionString/redact(_:)``.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in the terms the scrape engine acts on.
    public enum Kind: String, Sendable {
        /// The connection string does not parse.
        case invalidConnectionString
        /// Connecting failed (refused, unreachable, authentication, timeout).
        case connectionFailed
        /// The connection broke while in use; the server may be down.
        case connectionLost
        /// The server answered the query with an error (it is alive).
        case queryFailed
        /// The query was cancelled because its deadline passed.
        case timedOut
    }

    public let kind: Kind
    /// The five-character SQLSTATE the server sent, when it sent one.
    public let sqlState: String?
    /// The error text (the server's primary message, or libpq's), with secrets removed.
    public let message: String

    public init(kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    /// Whether the server itself answered (so the target is up even though the query failed):
    /// an error it sent, a `statement_timeout` or a cancel it carried out. A client-side
    /// timeout with no answer from the server is not one.
    public var serverAnswered: Bool { kind == .queryFailed || (kind == .timedOut && sqlState != nil) }

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }
}
