/// Settings that change what the collectors read and how many series they make, set in the
/// config file under `options:` (per target, or under `defaults:` for every target).
///
/// Each option is read by the collectors it concerns through ``QueryRunner/options``. The
/// defaults keep every collector's series count bounded on a busy server.
public struct CollectorOptions: Sendable, Equatable {
    /// PgBouncer: keep the rows of the admin console's own `pgbouncer` database (dropped by
    /// default: they count the exporter's own `SHOW` commands).
    public var includeAdminDatabase = false

    /// `connections`: extra `pg_stat_activity` columns to count sessions by, in
    /// `pg_stat_activity_sessions` (off by default: application names are unbounded).
    public var activityLabels: [ActivityLabel] = []
    /// `connections`: most series `pg_stat_activity_sessions` may have (the largest groups).
    public var activityLabelsLimit = 100

    /// `statements`: how many statements, by total execution time, get series of their own.
    public var statementsTopN = 25
    /// `statements`: mean execution time above which a statement counts as slow, in seconds.
    public var statementsSlowThreshold = 0.1
    /// `statements`: also export each top statement's text (truncated) in an `_info` series.
    public var statementsIncludeQuery = false
    /// `statements`: characters of query text kept.
    public var statementsQueryLength = 120

    /// `tables`: how many unused indexes per database, the largest, get series of their own.
    public var unusedIndexesTopN = 20

    public init() {}

    /// The `pg_stat_activity` columns sessions may be counted by.
    public enum ActivityLabel: String, Sendable, CaseIterable {
        case usename
        case applicationName = "application_name"
        case waitEventType = "wait_event_type"
    }
}

extension CollectorOptions {
    /// Every option that adds labels or series on, for the docs.
    static var everythingOn: CollectorOptions {
        var options = CollectorOptions()
        options.activityLabels = ActivityLabel.allCases
        options.statementsIncludeQuery = true
        return options
    }
}
