import Foundation

/// The test bed started by `scripts/testbed up`: a PostgreSQL 15 primary, its streaming
/// replica and PgBouncer, on loopback. `scripts/test` exports its settings; a test that needs
/// it fails with a clear message when they are missing.
public struct TestBed: Sendable {
    public let primaryDSN: String
    public let replicaDSN: String
    public let pgbouncerDSN: String
    public let primaryAdminDSN: String
    public let replicaAdminDSN: String
    public let monitorPassword: String
    public let primaryPort: Int
    public let pgbouncerPort: Int
    /// `scripts/testbed`, to stop and start servers.
    public let script: String

    /// The bed's settings from the environment.
    public static func current() throws -> TestBed {
        let environment = ProcessInfo.processInfo.environment
        func value(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw TestBedMissing(variable: name)
            }
            return value
        }
        return TestBed(
            primaryDSN: try value("PGSTACK_PRIMARY_DSN"),
            replicaDSN: try value("PGSTACK_REPLICA_DSN"),
            pgbouncerDSN: try value("PGSTACK_PGBOUNCER_DSN"),
            primaryAdminDSN: try value("PGSTACK_PRIMARY_ADMIN_DSN"),
            replicaAdminDSN: try value("PGSTACK_REPLICA_ADMIN_DSN"),
            monitorPassword: try value("PGSTACK_MONITOR_PASSWORD"),
            primaryPort: Int(try value("PGSTACK_PRIMARY_PORT")) ?? 0,
            pgbouncerPort: Int(try value("PGSTACK_PGBOUNCER_PORT")) ?? 0,
            script: try value("PGSTACK_TESTBED_SCRIPT"))
    }

    /// `dsn` with an `application_name` of its own, so a test can find exactly its sessions in
    /// `pg_stat_activity` while other tests run.
    public static func withApplicationName(_ dsn: String, _ name: String) -> String {
        dsn + " application_name=\(name)"
    }

    /// The primary's monitoring DSN with another password.
    public func primaryDSN(password: String) -> String {
        primaryDSN.replacingOccurrences(of: "password=\(monitorPassword)", with: "password=\(password)")
    }

    /// Stops one server (`primary`, `replica` or `pgbouncer`).
    public func stop(_ server: String) async throws {
        try await Command.check(script, ["stop", server])
    }

    /// Starts one server again and waits until it accepts connections.
    public func start(_ server: String) async throws {
        try await Command.check(script, ["start", server])
    }
}

/// The test bed's settings are missing from the environment.
public struct TestBedMissing: Error, CustomStringConvertible {
    public let variable: String
    public var description: String {
        "\(variable) is not set: run the tests with scripts/test, or `eval \"$(scripts/testbed env)\"` after `scripts/testbed up`"
    }
}
