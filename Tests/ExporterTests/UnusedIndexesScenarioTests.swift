import Collectors
import Exporter
import Foundation
import Testing
import TestSupport

/// Unused indexes on the live bed, read by the bed's monitoring role (only `pg_monitor`) in
/// databases the tests make (owned by the superuser), each scraped alone.
@Suite(.serialized, .needsTestBed) struct UnusedIndexesScenarioTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    /// Runs `body` on a superuser session in a new database `name`, dropped afterwards.
    private func withDatabase(_ name: String, _ body: (AdminConnection) async throws -> Void) async throws {
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            try await admin.run("CREATE DATABASE \"\(name)\"")
            let database = try await AdminConnection.open(bed.primaryAdminDSN.replacingOccurrences(of: "dbname=postgres", with: "dbname='\(name)'"))
            try await withCleanup { try await body(database) } cleanup: { await database.close() }
        } cleanup: {
            _ = try? await admin.run("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
            await admin.close()
        }
    }

    /// Runs `body` with an exporter on the primary that runs only the indexes and tables
    /// collectors, in the databases whose names start with `prefix`; shut down afterwards.
    private func scraping(databasesStartingWith prefix: String, _ body: (EngineHarness) async throws -> Void) async throws {
        let collectors = try ["indexes", "tables"].map { try #require(CollectorCatalog.named($0, for: .postgres)) }
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)]) { target in
            target.collectors = collectors
            target.databases.include = ["^" + prefix]
            target.databases.refresh = .milliseconds(1)  // read on every scrape, not once per 5 minutes
        }
        try await withCleanup { try await body(engine) } cleanup: { await engine.shutdown() }
    }

    private static func unique(_ prefix: String) -> String {
        "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Also the hostile names: a database and an index named in Unicode come back as they are.
    @Test func anUnusedIndexIsCountedUntilScannedAndConstraintIndexesNever() async throws {
        let prefix = Self.unique("pgstack_unused")
        let name = prefix + "_ünï_✓"
        let index = "idx_ñ_😀"
        try await scraping(databasesStartingWith: prefix) { engine in
            try await withDatabase(name) { database in
                try await database.run("""
                    CREATE TABLE t (id int PRIMARY KEY, u int UNIQUE, r int4range, n int, EXCLUDE USING gist (r WITH &&));
                    CREATE UNIQUE INDEX t_n_unique ON t (n, id);
                    INSERT INTO t SELECT g, g, int4range(g, g + 1), g % 100 FROM generate_series(1, 5000) g;
                    CREATE INDEX "\(index)" ON t (n);
                    """)
                let size = Double(try #require(try await database.value(
                    "SELECT relpages::bigint * current_setting('block_size')::bigint FROM pg_class WHERE relname = '\(index)'"))) ?? 0
                #expect(size > 8192)
                let scrape = try await engine.scrape()
                let counts = scrape.samples("pg_unused_indexes", ["target": "primary"])
                #expect(counts.count == 1)
                for sample in counts {
                    #expect(sample.labels["datname"] == name)
                    #expect(sample.value == 1)  // not the primary key, unique or exclusion indexes
                }
                #expect(scrape.value("pg_unused_indexes_size_bytes", ["datname": name]) == size)
                let largest = scrape.samples("pg_unused_index_size_bytes", ["datname": name])
                #expect(largest.count == 1)
                for sample in largest {
                    #expect(sample.labels["indexrelname"] == index && sample.labels["relname"] == "t" && sample.labels["schemaname"] == "public")
                    #expect(sample.value == size)
                }

                try await database.run("SET enable_seqscan = off; SELECT count(*) FROM t WHERE n = 5; SELECT pg_stat_force_next_flush()")
                #expect(try await eventually {
                    let after = try await engine.scrape()
                    return after.value("pg_unused_indexes", ["datname": name]) == 0 && after.samples("pg_unused_index_size_bytes").isEmpty
                })
                #expect(try await engine.scrape().value("pg_unused_indexes_size_bytes", ["datname": name]) == 0)
            }
        }
    }

    /// A migration holding `DROP INDEX` open: the scrape neither waits for its lock nor fails,
    /// and once committed the index is gone from the count.
    /// Six databases and three connections kept for them: read once per discovery refresh, the
    /// unused indexes cost no reconnection on the scrapes in between.
    @Test func withMoreDatabasesThanConnectionsTheReadingIsKeptNotRedone() async throws {
        let prefix = Self.unique("pgstack_many")
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        let names = (0..<6).map { "\(prefix)_\($0)" }
        let application = "pgstack_kept_\(UInt32.random(in: 0...UInt32.max))"
        let engine = try EngineHarness([("primary", .postgres, TestBed.withApplicationName(bed.primaryDSN, application))]) { target in
            target.collectors = [indexesCollector]
            target.databases.include = ["^" + prefix]
        }
        func sessions() async throws -> Int {
            Int(try await admin.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(application)'") ?? "") ?? -1
        }
        try await withCleanup {
            for name in names { try await admin.run("CREATE DATABASE \"\(name)\"") }
            let first = try await engine.scrape()
            #expect(first.samples("pg_unused_indexes").count == 6)
            let afterFirst = try await sessions()
            #expect(afterFirst <= 4, "the target's own session and at most three for its databases")
            let pids = try await admin.run("SELECT pid FROM pg_stat_activity WHERE application_name = '\(application)' ORDER BY pid").rows
            for _ in 0..<3 {
                let again = try await engine.scrape()
                #expect(again.samples("pg_unused_indexes").count == 6)
            }
            #expect(try await admin.run("SELECT pid FROM pg_stat_activity WHERE application_name = '\(application)' ORDER BY pid").rows == pids,
                    "no session opened or closed after the first scrape")
        } cleanup: {
            await engine.shutdown()
            for name in names { _ = try? await admin.run("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)") }
            await admin.close()
        }
    }

    /// A server whose only database is the one its DSN names (a managed instance per
    /// application) costs one connection: the per-database reading runs on the target's own.
    @Test func theTargetsOwnDatabaseIsReadOnItsOwnConnection() async throws {
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        let application = "pgstack_own_\(UInt32.random(in: 0...UInt32.max))"
        let dsn = TestBed.withApplicationName(bed.primaryDSN, application)
        let database = try #require(try ConnectionString(dsn).database)
        let engine = try EngineHarness([("primary", .postgres, dsn)]) { target in
            target.collectors = [serverCollector, indexesCollector]
            target.databases.include = ["^" + database + "$"]
        }
        try await withCleanup {
            let scrape = try await engine.scrape()
            #expect(scrape.samples("pg_unused_indexes").map { $0.labels["datname"] } == [database])
            #expect(try await admin.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(application)'") == "1")
        } cleanup: {
            await engine.shutdown()
            await admin.close()
        }
    }

    /// One database refusing the role (`CONNECTION LIMIT 0`) fails the collector, but the five
    /// read are kept: the scrapes after it read none of them again (pg_stat_statements counts
    /// the collector's statement per database), and once the sixth accepts connections it
    /// alone is read and the collector succeeds with all six.
    @Test func aDatabaseThatFailsDoesNotMakeTheOthersBeReadAgain() async throws {
        let prefix = Self.unique("pgstack_partial")
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        let names = (0..<6).map { "\(prefix)_\($0)" }
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN)]) { target in
            target.collectors = [indexesCollector]
            target.databases.include = ["^" + prefix]
        }
        func reads(in database: String) async throws -> Int {
            Int(try await admin.value("""
                SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = '\(database)' AND s.query LIKE '%pg_stat_user_indexes%'
                """) ?? "") ?? -1
        }
        try await withCleanup {
            for name in names { try await admin.run("CREATE DATABASE \"\(name)\"") }
            try await admin.run("ALTER DATABASE \"\(names[2])\" CONNECTION LIMIT 0")
            let first = try await engine.scrape()
            #expect(first.samples("pg_unused_indexes").count == 5)
            #expect(first.value("pgstack_exporter_collector_success", ["collector": "indexes"]) == 0)
            for _ in 0..<2 {
                let again = try await engine.scrape()
                #expect(again.samples("pg_unused_indexes").count == 5)
            }
            #expect(try await reads(in: names[0]) == 1, "a database read was read again")
            try await admin.run("ALTER DATABASE \"\(names[2])\" CONNECTION LIMIT -1")
            let recovered = try await engine.scrape()
            #expect(recovered.samples("pg_unused_indexes").count == 6)
            #expect(recovered.value("pgstack_exporter_collector_success", ["collector": "indexes"]) == 1)
            #expect(try await reads(in: names[0]) == 1)
            #expect(try await reads(in: names[2]) == 1)
        } cleanup: {
            await engine.shutdown()
            for name in names { _ = try? await admin.run("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)") }
            await admin.close()
        }
    }

    @Test func anIndexBeingDroppedDoesNotBlockTheScrape() async throws {
        let name = Self.unique("pgstack_dropping")
        try await scraping(databasesStartingWith: name) { engine in
            try await withDatabase(name) { database in
                try await database.run("CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 1000); CREATE INDEX t_n ON t (n)")
                #expect(try await engine.scrape().value("pg_unused_indexes", ["datname": name]) == 1)
                try await database.run("BEGIN; DROP INDEX t_n")
                let started = ContinuousClock.now
                let during = try await engine.scrape()
                #expect(ContinuousClock.now - started < .seconds(1), "waited for the lock")
                for collector in ["indexes", "tables"] {
                    #expect(during.value("pgstack_exporter_collector_success", ["collector": collector]) == 1, "\(collector)")
                }
                #expect(during.value("pg_unused_indexes", ["datname": name]) == 1)
                try await database.run("COMMIT")
                #expect(try await engine.scrape().value("pg_unused_indexes", ["datname": name]) == 0)
            }
        }
    }

    /// A database the monitoring role may not connect to is not read, and fails nothing.
    @Test func aDatabaseTheRoleMayNotConnectToIsLeftOut() async throws {
        let prefix = Self.unique("pgstack_locked")
        let (open, locked) = (prefix + "_open", prefix + "_closed")
        try await scraping(databasesStartingWith: prefix) { engine in
            try await withDatabase(open) { _ in
                try await withDatabase(locked) { database in
                    try await database.run("REVOKE CONNECT ON DATABASE \"\(locked)\" FROM PUBLIC")
                    let scrape = try await engine.scrape()
                    #expect(scrape.value("pgstack_exporter_collector_success", ["collector": "indexes"]) == 1)
                    #expect(scrape.samples("pg_unused_indexes").map { $0.labels["datname"] } == [open])
                }
            }
        }
    }

    /// 2,000 unused indexes: counted exactly, one query, a fixed number of series.
    @Test func twoThousandUnusedIndexesStayTwoSeriesAndTheTopN() async throws {
        let name = Self.unique("pgstack_many")
        try await scraping(databasesStartingWith: name) { engine in
            try await withDatabase(name) { database in
                try await database.run(
                    "DO $$ BEGIN FOR i IN 1..2000 LOOP EXECUTE format('CREATE TABLE t%s (n int); CREATE INDEX ON t%s (n)', i, i); END LOOP; END $$",
                    timeout: .seconds(300))
                let scrape = try await engine.scrape(budget: .seconds(20))
                #expect(scrape.value("pg_unused_indexes", ["datname": name]) == 2000)
                #expect(scrape.value("pg_unused_indexes_size_bytes", ["datname": name]) == Double(2000 * 8192))  // a B-tree's metapage each
                #expect(scrape.samples("pg_unused_index_size_bytes", ["datname": name]).count == CollectorOptions().unusedIndexesTopN)
                let took = try #require(scrape.value("pgstack_exporter_collector_duration_seconds", ["collector": "indexes"]))
                #expect(took < 1)
                print("2000 unused indexes: the indexes collector took \(took) s")
            }
        }
    }
}
