public import PostgresClient

/// Every collector this exporter has, and which run when the configuration names none.
public enum CollectorCatalog {
    /// All collectors, PostgreSQL first, in the order they run (PgBouncer's `version` first of its
    /// kind: its `SHOW VERSION` is the console's liveness probe).
    public static let all: [Collector] = [
        serverCollector,
        connectionsCollector,
        replicationCollector,
        standbyCollector,
        replicationSlotsCollector,
        subscriptionCollector,
        statementsCollector,
        walCollector,
        archiverCollector,
        databaseCollector,
        locksCollector,
        checkpointsCollector,
        ioCollector,
        settingsCollector,
        indexesCollector,
        tablesCollector,
        capabilitiesCollector,
        pgbouncerVersionCollector,
        pgbouncerPoolsCollector,
        pgbouncerStatsCollector,
        pgbouncerDatabasesCollector,
        pgbouncerListsCollector,
        pgbouncerConfigCollector,
    ]

    /// The collectors that run by default on a target of `kind`.
    public static func defaults(for kind: ServerInfo.Kind) -> [Collector] {
        all.filter { $0.targetKind == kind && $0.enabledByDefault }
    }

    /// The collector named `name` for targets of `kind`, if there is one.
    public static func named(_ name: String, for kind: ServerInfo.Kind) -> Collector? {
        all.first { $0.name == name && $0.targetKind == kind }
    }

    /// The names available for `kind`, for error messages.
    public static func names(for kind: ServerInfo.Kind) -> [String] {
        all.filter { $0.targetKind == kind }.map(\.name)
    }
}
