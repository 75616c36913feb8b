import PostgresClient

/// Which databases of a PostgreSQL target the per-database collectors read, and how many
/// connections they may hold.
public struct DatabaseDiscovery: Sendable, Equatable {
    /// Regular expressions (PostgreSQL syntax, `~`): a database is read if it matches one
    /// (all databases when empty) and matches none of `exclude`.
    public var include: [String] = []
    public var exclude: [String] = []
    /// How often the list of databases is read again from `pg_database`.
    public var refresh: Duration = .seconds(300)
    /// Most connections held to the target's databases at once (beyond the main one); the
    /// least recently used idle one is closed to make room.
    public var maxConnections = 3

    public init() {}

    /// The discovery query: non-template databases the role may connect to, filtered (a
    /// database without CONNECT for it, such as a managed service's own, would fail every scrape).
    var sql: String {
        func array(_ patterns: [String]) -> String {
            "ARRAY[" + patterns.map { "'" + $0.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'" }
                .joined(separator: ", ") + "]::text[]"
        }
        var conditions = ["datallowconn", "NOT datistemplate", "has_database_privilege(oid, 'CONNECT')"]
        if !include.isEmpty { conditions.append("datname ~ ANY(\(array(include)))") }
        if !exclude.isEmpty { conditions.append("NOT datname ~ ANY(\(array(exclude)))") }
        return "SELECT datname FROM pg_database WHERE \(conditions.joined(separator: " AND ")) ORDER BY datname"
    }
}

/// The connections to each database of one target, for the per-database collectors: reused
/// across scrapes, never more than ``DatabaseDiscovery/maxConnections`` open at once.
actor DatabaseConnections {
    private let target: TargetConfiguration
    private let blocking: BlockingPool
    private var pools: [String: ConnectionPool] = [:]
    /// Databases, least recently used first.
    private var recency: [String] = []

    init(target: TargetConfiguration, blocking: BlockingPool) {
        self.target = target
        self.blocking = blocking
    }

    /// The pool for `database`, after closing idle connections of the least recently used
    /// other databases while the cap is reached.
    func pool(for database: String) async -> ConnectionPool {
        recency.removeAll { $0 == database }
        recency.append(database)
        let pool: ConnectionPool
        if let existing = pools[database] {
            pool = existing
        } else {
            var single = target
            single.connectionString = target.connectionString.withDatabase(database)
            single.limits.maxConnections = 1
            pool = ConnectionPool(target: single, blocking: blocking)
            pools[database] = pool
        }
        var open = 0
        for name in recency { open += await pools[name]?.openConnections ?? 0 }
        for name in recency where name != database && open >= target.databases.maxConnections {
            guard let other = pools[name] else { continue }
            let before = await other.openConnections
            await other.closeAll()
            open -= before - (await other.openConnections)
        }
        return pool
    }

    /// Forgets databases that are gone, closing their connections.
    func keep(only databases: [String]) async {
        for (name, pool) in pools where !databases.contains(name) {
            await pool.closeAll()
            pools[name] = nil
            recency.removeAll { $0 == name }
        }
    }

    /// Connections open to the target's databases.
    var openConnections: Int {
        get async {
            var total = 0
            for pool in pools.values { total += await pool.openConnections }
            return total
        }
    }

    func closeAll() async {
        for pool in pools.values { await pool.closeAll() }
    }

    func closeIdle(unusedFor idleTime: Duration) async {
        for pool in pools.values { await pool.closeIdle(unusedFor: idleTime) }
    }
}
