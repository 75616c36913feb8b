import PostgresClient

/// Sessions left idle inside an open transaction, as a stuck application leaves them.
struct IdleTransactions {
    let connections: [Connection]
    let pool: BlockingPool

    static func open(_ count: Int, dsn: String) async throws -> IdleTransactions {
        let pool = BlockingPool(threadCount: 1)
        var connections: [Connection] = []
        for _ in 0..<count {
            let connection = try await Connection.connect(to: try ConnectionString(dsn), on: pool)
            _ = try await connection.query("BEGIN; SELECT 1", timeout: .seconds(5), on: pool)
            connections.append(connection)
        }
        return IdleTransactions(connections: connections, pool: pool)
    }

    func close() async {
        for connection in connections {
            try? await pool.run { connection.close() }
        }
    }
}
