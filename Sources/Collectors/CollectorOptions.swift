/// Settings that change what the collectors read and how many series they make, set in the
/// config file under `options:` (per target, or under `defaults:` for every target).
///
/// Each option is read by the collectors it concerns through ``QueryRunner/options``.
public struct CollectorOptions: Sendable, Equatable {
    /// PgBouncer: keep the rows of the admin console's own `pgbouncer` database (dropped by
    /// default: they count the exporter's own `SHOW` commands).
    public var includeAdminDatabase = false

    public init() {}
}
