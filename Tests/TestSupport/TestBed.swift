import Foundation
import Testing

/// The test bed started by `scripts/testbed.py up`: a PostgreSQL primary (15 unless
/// `PGSTACK_PG_VERSION` says 17 or 18), its streaming replica, PgBouncer and a subscriber
/// (subscription `pgstack_sub` to the primary's publication of `appdb.pub_events`), on loopback. `scripts/test.sh` exports its settings; a test that needs
/// it fails with a clear message when they are missing.
public struct TestBed: Sendable {
    public let primaryDSN: String
    public let replicaDSN: String
    public let pgbouncerDSN: String
    public let primaryAdminDSN: String
    public let replicaAdminDSN: String
    public let subscriberDSN: String
    /// The subscriber's superuser, in `appdb` (where the subscription is).
    public let subscriberAdminDSN: String
    /// The application role's path to `appdb` through PgBouncer (pool size 5).
    public let appPgbouncerDSN: String
    /// The same through the `appdb_pool1` entry, whose pools hold one server connection.
    public let appPool1PgbouncerDSN: String
    public let monitorPassword: String
    public let primaryPort: Int
    public let pgbouncerPort: Int
    /// `scripts/testbed.py`, to stop and start servers.
    public let script: String

    /// Sessions one exporter holds on a bed server with the default collectors: its connection
    /// (which the per-database `indexes` collector also reads its own database, postgres, on)
    /// and one for the other database, appdb.
    public static let exporterSessions = 2

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
            subscriberDSN: try value("PGSTACK_SUBSCRIBER_DSN"),
            subscriberAdminDSN: try value("PGSTACK_SUBSCRIBER_ADMIN_DSN"),
            appPgbouncerDSN: try value("PGSTACK_APP_PGBOUNCER_DSN"),
            appPool1PgbouncerDSN: try value("PGSTACK_APP_POOL1_PGBOUNCER_DSN"),
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

    /// Stops one server (`primary`, `replica`, `pgbouncer` or `subscriber`).
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
        "\(variable) is not set: run the tests with scripts/test.sh, or `eval \"$(scripts/testbed.py env)\"` after `scripts/testbed.py up`"
    }
}

extension TestBed {
    /// What an exporter served while one server of the bed was down, and once it was back.
    public struct Outage: Sendable {
        /// The scrape made while the server was stopped, and how long it took.
        public let down: ScrapeText
        public let downScrapeTook: Duration
        /// The first scrape after the server was started again.
        public let back: ScrapeText
    }

    /// Stops `server`, scrapes `exporter` with a scrape timeout of `timeoutSeconds` (the
    /// header Prometheus sends), starts the server again — also when that scrape failed — and
    /// scrapes once more.
    /// - Throws: ``UnexpectedStatus`` when either scrape is not HTTP 200.
    public func outage(of server: String, scraping exporter: ExporterProcess, timeoutSeconds: Int = 3) async throws -> Outage {
        try await stop(server)
        let started = ContinuousClock.now
        let down: ScrapeText
        do {
            down = try await exporter.scrape(headers: ["X-Prometheus-Scrape-Timeout-Seconds": String(timeoutSeconds)])
        } catch {
            try await start(server)
            throw error
        }
        let took = ContinuousClock.now - started
        try await start(server)
        return Outage(down: down, downScrapeTook: took, back: try await exporter.scrape())
    }
}

extension TestBed {
    /// Whether the bed's settings are in the environment, or `scripts/test.sh` demands the bed
    /// (`PGSTACK_REQUIRE_TESTBED=1`: there a missing bed fails every live test, never skips it).
    public static var isWanted: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["PGSTACK_PRIMARY_DSN"]?.isEmpty == false || environment["PGSTACK_REQUIRE_TESTBED"] == "1"
    }
}

extension Trait where Self == ConditionTrait {
    /// For a suite that talks to the live bed: without one (a plain `swift test`) it is skipped
    /// with this reason, and the suites that need no server still run.
    public static var needsTestBed: Self {
        .enabled(if: TestBed.isWanted, "needs the live test bed: run scripts/test.sh, or eval \"$(scripts/testbed.py env)\" after scripts/testbed.py up")
    }
}
