import PostgresClient

/// A superuser session on a test bed server, to change its state as an operator would
/// (pause replay, write, break archiving) while the exporter watches.
public struct AdminConnection: Sendable {
    let connection: Connection
    let pool: BlockingPool

    public static func open(_ dsn: String) async throws -> AdminConnection {
        let pool = BlockingPool(threadCount: 1)
        return AdminConnection(connection: try await Connection.connect(to: try ConnectionString(dsn), on: pool), pool: pool)
    }

    /// Runs `sql` (several statements allowed) and returns the last one's rows.
    @discardableResult
    public func run(_ sql: String, timeout: Duration = .seconds(30)) async throws -> QueryResult {
        try await connection.query(sql, timeout: timeout, on: pool)
    }

    /// `ALTER SYSTEM SET name = 'value'` and a reload: a server setting changed for a test
    /// (and set back with the value read before).
    public func setSystem(_ name: String, to value: String) async throws {
        let quoted = value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''")
        _ = try await run("ALTER SYSTEM SET \(name) = '\(quoted)'")
        _ = try await run("SELECT pg_reload_conf()")
    }

    /// The first column of the first row of `sql`.
    public func value(_ sql: String) async throws -> String? {
        try await run(sql).rows.first?.first ?? nil
    }

    public func close() async {
        try? await pool.run { connection.close() }
    }
}

/// Waits until `condition` holds, checking every `interval`, for at most `timeout`; returns
/// whether it held.
public func eventually(
    timeout: Duration = .seconds(20), interval: Duration = .milliseconds(250), _ condition: () async throws -> Bool
) async throws -> Bool {
    let giveUp = ContinuousClock.now + timeout
    while ContinuousClock.now < giveUp {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
