/// What is at the other end of a ``Connection``, read from the startup parameters (no query).
public struct ServerInfo: Sendable, Equatable {
    /// What kind of server answered.
    public enum Kind: String, Sendable {
        case postgres
        /// A PgBouncer admin console: `server_version` ends in `/bouncer`.
        case pgbouncer
    }

    public let kind: Kind
    /// `PQserverVersion`: 150018 for PostgreSQL 15.18, 11800 for PgBouncer 1.18.0.
    public let versionNumber: Int
    /// The `server_version` parameter: `15.18 (Debian 15.18-0+deb12u1)` or `1.18.0/bouncer`.
    public let versionText: String

    public init(versionNumber: Int, versionText: String) {
        self.versionNumber = versionNumber
        self.versionText = versionText
        self.kind = versionText.hasSuffix("/bouncer") ? .pgbouncer : .postgres
    }
}
