import Exporter
import Foundation
import PostgresClient
import Testing
import TestSupport

/// The subscription collector against what operators and catalogs throw at it: a subscriber
/// that is down, subscriptions created and dropped during scrapes, names in any script,
/// connection strings with passwords, and roles that may read little.
@Suite(.serialized, .needsTestBed) struct LogicalReplicationHostileTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    private static let subscription = ["target": "subscriber", "datname": "appdb", "subname": "pgstack_sub"]
    /// A subscription that never connects (no slot, disabled), whose connection string holds a password.
    private static let name = "Ünïcødé \"sub\" ✓ 订阅"
    private static let secret = "pgstack-hostile-secret"
    private static let create = """
        SET client_min_messages = error;
        CREATE SUBSCRIPTION "Ünïcødé ""sub"" ✓ 订阅" CONNECTION 'host=127.0.0.1 port=1 dbname=appdb password=\(secret)'
        PUBLICATION pgstack_pub WITH (connect = false, slot_name = NONE)
        """
    private static let drop = "DROP SUBSCRIPTION IF EXISTS \"Ünïcødé \"\"sub\"\" ✓ 订阅\""

    private func success(_ scrape: ScrapeText) -> Double? {
        scrape.value("pgstack_exporter_collector_success", ["target": "subscriber", "collector": "subscription"])
    }

    @Test func aSubscriberThatIsDownIsReportedAndItsSlotGoesInactive() async throws {
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN), ("subscriber", .postgres, bed.subscriberDSN)])
        try await withCleanup {
            try await bed.stop("subscriber")
            #expect(try await eventually {
                try await engine.scrape().value("pg_replication_slots_active", ["target": "primary", "slot_name": "pgstack_sub"]) == 0
            })
            let down = try await engine.scrape()
            #expect(down.value("pg_up", ["target": "subscriber"]) == 0)
            #expect(down.value("pg_up", ["target": "primary"]) == 1)
            #expect(down.samples("pg_stat_subscription_worker_up").isEmpty)
            try await bed.start("subscriber")
            #expect(try await eventually { try await engine.scrape().value("pg_stat_subscription_worker_up", Self.subscription) == 1 })
        } cleanup: {
            try? await bed.start("subscriber")
            await engine.shutdown()
        }
    }

    /// What PostgresSubscriptionDown looks for: enabled, and no apply worker, because the
    /// publisher it names cannot be reached (the launcher retries every second).
    @Test func anEnabledSubscriptionWhosePublisherIsUnreachableHasNoWorker() async throws {
        let engine = try EngineHarness([("subscriber", .postgres, bed.subscriberDSN)])
        let subscriber = try await AdminConnection.open(bed.subscriberAdminDSN)
        let conninfo = try #require(try await subscriber.value("SELECT subconninfo FROM pg_subscription WHERE subname = 'pgstack_sub'"))
        let restore = "ALTER SUBSCRIPTION pgstack_sub CONNECTION '\(conninfo.replacingOccurrences(of: "'", with: "''"))'"
        try await withCleanup {
            try await subscriber.run("ALTER SUBSCRIPTION pgstack_sub CONNECTION 'host=127.0.0.1 port=1 dbname=appdb'")
            #expect(try await eventually {
                let scrape = try await engine.scrape()
                return scrape.value("pg_stat_subscription_worker_up", Self.subscription) == 0
                    && scrape.value("pg_stat_subscription_enabled", Self.subscription) == 1
            })
            try await subscriber.run(restore)
            #expect(try await eventually { try await engine.scrape().value("pg_stat_subscription_worker_up", Self.subscription) == 1 })
        } cleanup: {
            _ = try? await subscriber.run(restore)
            await engine.shutdown()
            await subscriber.close()
        }
    }

    @Test func subscriptionsCreatedAndDroppedDuringScrapesNeverFailTheCollector() async throws {
        let engine = try EngineHarness([("subscriber", .postgres, bed.subscriberDSN)])
        let subscriber = try await AdminConnection.open(bed.subscriberAdminDSN)
        try await withCleanup {
            let scrapes = try await withThrowingTaskGroup(of: [ScrapeText].self) { group in
                group.addTask {
                    for _ in 0..<20 {
                        try await subscriber.run(Self.create)
                        try await subscriber.run(Self.drop)
                    }
                    return []
                }
                group.addTask {
                    var scrapes: [ScrapeText] = []
                    for _ in 0..<20 { scrapes.append(try await engine.scrape()) }
                    return scrapes
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(scrapes.count == 20)
            for scrape in scrapes {
                #expect(success(scrape) == 1)
                #expect(scrape.value("pg_stat_subscription_worker_up", Self.subscription) == 1)
            }
        } cleanup: {
            _ = try? await subscriber.run(Self.drop)
            await engine.shutdown()
            await subscriber.close()
        }
    }

    /// A role with no grants at all still sees every subscription (the columns read are public),
    /// and nothing of a connection string reaches the scrape.
    @Test func aRoleWithoutGrantsSeesAUnicodeSubscriptionAndNoConnectionString() async throws {
        let subscriber = try await AdminConnection.open(bed.subscriberAdminDSN)
        try await subscriber.run("SET client_min_messages = warning; DROP ROLE IF EXISTS pgstack_nogrants; CREATE ROLE pgstack_nogrants LOGIN")
        let engine = try EngineHarness([("subscriber", .postgres, bed.subscriberDSN.replacingOccurrences(of: "user=pgstack_monitor", with: "user=pgstack_nogrants"))])
        try await withCleanup {
            try await subscriber.run(Self.create)
            let text = String(decoding: await engine.exporter.scrape(budget: .seconds(5)) ?? [], as: UTF8.self)
            let scrape = try ScrapeText(text)
            #expect(success(scrape) == 1)
            #expect(scrape.value("pg_stat_subscription_worker_up", Self.subscription) == 1)
            let unicode = ["target": "subscriber", "datname": "appdb", "subname": Self.name]
            #expect(scrape.value("pg_stat_subscription_enabled", unicode) == 0)
            #expect(scrape.value("pg_stat_subscription_worker_up", unicode) == 0)
            #expect(scrape.samples("pg_stat_subscription_workers", unicode).count == 3)
            #expect(!text.contains(Self.secret))
            #expect(!text.contains("port=1"))
        } cleanup: {
            _ = try? await subscriber.run(Self.drop)
            await engine.shutdown()
            _ = try? await subscriber.run("DROP ROLE IF EXISTS pgstack_nogrants")
            await subscriber.close()
        }
    }

    /// A catalog hardened further than PostgreSQL's default (pg_subscription's public columns
    /// revoked, in the database the exporter reads: a catalog's privileges are per database
    /// even when its rows are shared): the subscription collector fails alone and says so.
    @Test func aRevokedCatalogFailsTheCollectorAloneAndTheGrantBringsItBack() async throws {
        let subscriber = try await AdminConnection.open(bed.subscriberAdminDSN.replacingOccurrences(of: "dbname=appdb", with: "dbname=postgres"))
        let engine = try EngineHarness([("subscriber", .postgres, bed.subscriberDSN)])
        try await withCleanup {
            try await subscriber.run("REVOKE SELECT (subenabled) ON pg_subscription FROM PUBLIC")
            let revoked = try await engine.scrape()
            #expect(success(revoked) == 0)
            #expect(revoked.value("pg_up", ["target": "subscriber"]) == 1)
            #expect(revoked.value("pgstack_exporter_collector_success", ["target": "subscriber", "collector": "replication_slots"]) == 1)
            try await subscriber.run("GRANT SELECT (subenabled) ON pg_subscription TO PUBLIC")
            #expect(try await eventually { success(try await engine.scrape()) == 1 })
        } cleanup: {
            _ = try? await subscriber.run("GRANT SELECT (subenabled) ON pg_subscription TO PUBLIC")
            await engine.shutdown()
            await subscriber.close()
        }
    }
}
