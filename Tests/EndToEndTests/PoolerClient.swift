import PostgresClient

/// An application's connection through PgBouncer, on threads of its own (so that a query
/// left waiting in PgBouncer blocks none of the test's other work).
struct PoolerClient {
    let connection: Connection
    let pool: BlockingPool

    static func connect(_ dsn: String) async throws -> PoolerClient {
        // One thread for the query, one for a cancel at its timeout.
        let pool = BlockingPool(threadCount: 2)
        let connection = try await Connection.connect(to: try ConnectionString(dsn), on: pool)
        return PoolerClient(connection: connection, pool: pool)
    }

    /// Connects, runs each statement as its own query, and disconnects.
    static func run(_ statements: [String], through dsn: String) async throws {
        let client = try await connect(dsn)
        do {
            for statement in statements {
                try await client.run(statement)
            }
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    /// Runs one simple query; a query PgBouncer keeps waiting is cancelled after `timeout`.
    @discardableResult
    func run(_ sql: String, timeout: Duration = .seconds(20)) async throws -> QueryResult {
        try await connection.query(sql, timeout: timeout, on: pool)
    }

    /// Disconnects (once the query in flight, if any, has ended) and stops the threads.
    func close() async {
        try? await pool.run { connection.close() }
        try? await pool.shutdown()
    }
}
