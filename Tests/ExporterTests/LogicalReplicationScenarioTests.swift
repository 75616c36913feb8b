import Foundation
import PostgresClient
import Testing
import TestSupport

/// Logical replication on the bed: the primary publishes `appdb.pub_events`, the subscriber
/// subscribes to it (`pgstack_sub`); the tests stop the subscription as operators do and watch
/// both sides.
@Suite(.serialized, .needsTestBed) struct LogicalReplicationScenarioTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    private static let subscription = ["target": "subscriber", "datname": "appdb", "subname": "pgstack_sub"]
    private static let slot = ["target": "primary", "slot_name": "pgstack_sub"]

    /// Runs `body` with an exporter on the primary and the subscriber, and superuser sessions in
    /// appdb on both (where the table is published and subscribed); then runs the `undo`
    /// statements on the subscriber, one by one, whatever `body` did, and closes everything.
    private func withSessions(
        undo: [String] = [], _ body: (EngineHarness, _ primary: AdminConnection, _ subscriber: AdminConnection) async throws -> Void
    ) async throws {
        let engine = try EngineHarness([("primary", .postgres, bed.primaryDSN), ("subscriber", .postgres, bed.subscriberDSN)])
        let primary = try await AdminConnection.open(bed.primaryAdminDSN.replacingOccurrences(of: "dbname=postgres", with: "dbname=appdb"))
        let subscriber = try await AdminConnection.open(bed.subscriberAdminDSN)
        try await withCleanup {
            try await body(engine, primary, subscriber)
        } cleanup: {
            for statement in undo { _ = try? await subscriber.run(statement) }
            await engine.shutdown()
            await primary.close()
            await subscriber.close()
        }
    }

    @Test func theSubscriptionIsUpAndItsSlotDecodesWhatIsWritten() async throws {
        try await withSessions { engine, primary, _ in
            let scrape = try await engine.scrape()
            #expect(scrape.value("pg_stat_subscription_enabled", Self.subscription) == 1)
            #expect(scrape.value("pg_stat_subscription_worker_up", Self.subscription) == 1)
            #expect((scrape.value("pg_stat_subscription_received_lsn_bytes", Self.subscription) ?? 0) > 0)
            #expect((scrape.value("pg_stat_subscription_last_msg_receipt_age_seconds", Self.subscription) ?? -1) >= 0)
            #expect(scrape.value("pg_stat_subscription_apply_errors_total", Self.subscription) != nil)
            let workers = scrape.samples("pg_stat_subscription_workers", Self.subscription)
            #expect(workers.count == 3)
            for worker in workers {
                #expect(worker.value == (worker.labels["worker_type"] == "apply" ? 1 : 0), "\(worker.labels)")
            }
            #expect(scrape.value("pg_replication_slots_active", Self.slot) == 1)
            #expect(scrape.value("pg_replication_slots_confirmed_flush_lag_bytes", Self.slot) != nil)
            #expect(scrape.value("pg_replication_slots_confirmed_flush_lag_bytes", ["slot_name": "pgstack_replica"]) == nil)
            // The primary has no subscriptions, the subscriber no slots.
            #expect(scrape.samples("pg_stat_subscription_enabled", ["target": "primary"]).isEmpty)
            #expect(scrape.samples("pg_replication_slots_active", ["target": "subscriber"]).isEmpty)

            let decoded = scrape.value("pg_stat_replication_slots_decoded_txns_total", Self.slot) ?? -1
            #expect(decoded >= 0)
            try await primary.run("INSERT INTO pub_events (payload) SELECT 'decoded' FROM generate_series(1, 10)")
            #expect(try await eventually {
                (try await engine.scrape().value("pg_stat_replication_slots_decoded_txns_total", Self.slot) ?? 0) > decoded
            })
        }
    }

    @Test func aDisabledSubscriptionStopsItsWorkerAndItsSlotLagGrowsUntilItIsEnabled() async throws {
        try await withSessions(undo: ["ALTER SUBSCRIPTION pgstack_sub ENABLE"]) { engine, primary, subscriber in
            try await subscriber.run("ALTER SUBSCRIPTION pgstack_sub DISABLE")
            #expect(try await eventually {
                let scrape = try await engine.scrape()
                return scrape.value("pg_stat_subscription_worker_up", Self.subscription) == 0
                    && scrape.value("pg_replication_slots_active", Self.slot) == 0
            })
            let disabled = try await engine.scrape()
            #expect(disabled.value("pg_stat_subscription_enabled", Self.subscription) == 0)
            #expect(disabled.value("pg_stat_subscription_received_lsn_bytes", Self.subscription) == nil)
            #expect(disabled.value("pg_stat_subscription_workers", Self.subscription.merging(["worker_type": "apply"]) { $1 }) == 0)
            let before = try #require(disabled.value("pg_replication_slots_confirmed_flush_lag_bytes", Self.slot))

            try await primary.run("INSERT INTO pub_events (payload) SELECT repeat('x', 100) FROM generate_series(1, 5000)")
            let grown = try #require(try await engine.scrape().value("pg_replication_slots_confirmed_flush_lag_bytes", Self.slot))
            #expect(grown > before + 500_000, "confirmed-flush lag went from \(before) to \(grown) bytes")

            try await subscriber.run("ALTER SUBSCRIPTION pgstack_sub ENABLE")
            #expect(try await eventually(timeout: .seconds(30)) {
                let scrape = try await engine.scrape()
                return scrape.value("pg_stat_subscription_worker_up", Self.subscription) == 1
                    && (scrape.value("pg_replication_slots_confirmed_flush_lag_bytes", Self.slot) ?? .infinity) < 100_000
            })
            // The slot may confirm a keepalive's position a moment before the rows are visible.
            #expect(try await eventually(timeout: .seconds(30)) {
                try await subscriber.value("SELECT count(*) >= 5000 FROM pub_events WHERE payload = repeat('x', 100)") == "t"
            })
        }
    }

    /// A table added to the publication is copied by a table synchronization worker (held here
    /// by a SHARE lock on the subscriber's table, which its COPY waits for and REFRESH does not):
    /// it is counted, and adds no series of its own.
    @Test func aTableBeingCopiedIsCountedAndAddsNoSeries() async throws {
        let holder = try await AdminConnection.open(bed.subscriberAdminDSN)
        try await withCleanup {
            try await withSessions(undo: ["ALTER SUBSCRIPTION pgstack_sub REFRESH PUBLICATION", "DROP TABLE IF EXISTS pub_sync_probe"]) { engine, primary, subscriber in
                let syncing = Self.subscription.merging(["worker_type": "table synchronization"]) { $1 }
                func subscriptionSeries(_ scrape: ScrapeText) -> Int {
                    scrape.samples.filter { $0.name.hasPrefix("pg_stat_subscription_") && $0.labels["target"] == "subscriber" }.count
                }
                let before = try await engine.scrape()
                #expect(before.value("pg_stat_subscription_workers", syncing) == 0)
                // Dropping the table also takes it out of the publication, should a run have left it.
                try await primary.run("""
                    DROP TABLE IF EXISTS pub_sync_probe; CREATE TABLE pub_sync_probe (id int PRIMARY KEY);
                    INSERT INTO pub_sync_probe SELECT generate_series(1, 1000); GRANT SELECT ON pub_sync_probe TO pgstack_logical;
                    ALTER PUBLICATION pgstack_pub ADD TABLE pub_sync_probe
                    """)
                try await subscriber.run("DROP TABLE IF EXISTS pub_sync_probe; CREATE TABLE pub_sync_probe (id int PRIMARY KEY)")
                try await holder.run("BEGIN; LOCK TABLE pub_sync_probe IN SHARE MODE")
                do {
                    try await subscriber.run("ALTER SUBSCRIPTION pgstack_sub REFRESH PUBLICATION")
                    #expect(try await eventually { try await engine.scrape().value("pg_stat_subscription_workers", syncing) == 1 })
                    let copying = try await engine.scrape()
                    #expect(subscriptionSeries(copying) == subscriptionSeries(before))
                } catch {
                    try await holder.run("COMMIT")  // before the undo, which waits for the copy
                    throw error
                }
                try await holder.run("COMMIT")
                #expect(try await eventually(timeout: .seconds(30)) {
                    let copied = try await subscriber.value("SELECT count(*) FROM pub_sync_probe")
                    let workers = try await engine.scrape().value("pg_stat_subscription_workers", syncing)
                    return copied == "1000" && workers == 0
                })
                // The copy's own slot on the publisher is gone with it.
                #expect(try await eventually { try await primary.value("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pg\\_%\\_sync\\_%'") == "0" })
                try await primary.run("DROP TABLE pub_sync_probe")
            }
        } cleanup: {
            _ = try? await holder.run("ROLLBACK")
            await holder.close()
        }
    }

    /// A row the subscriber already has stops the apply (a unique violation, retried every
    /// second): the error counter rises, and on PostgreSQL 18 the insert_exists conflict too.
    @Test func aConflictingRowCountsApplyErrorsUntilItIsRemoved() async throws {
        let id = Int.random(in: 1_000_000_000...2_000_000_000)
        try await withSessions(undo: ["DELETE FROM pub_events WHERE id = \(id) AND payload = 'subscriber'"]) { engine, primary, subscriber in
            let version = Int(try await subscriber.value("SHOW server_version_num") ?? "") ?? 0
            let before = try await engine.scrape()
            let errors = try #require(before.value("pg_stat_subscription_apply_errors_total", Self.subscription))
            let conflicts = before.samples("pg_stat_subscription_conflicts_total", Self.subscription)
            #expect(conflicts.count == (version >= 180_000 ? 7 : 0), "\(conflicts.map(\.labels))")
            let inserted = Self.subscription.merging(["conflict": "insert_exists"]) { $1 }
            let insertExists = before.value("pg_stat_subscription_conflicts_total", inserted) ?? 0

            try await subscriber.run("INSERT INTO pub_events (id, payload) VALUES (\(id), 'subscriber')")
            try await primary.run("INSERT INTO pub_events (id, payload) VALUES (\(id), 'publisher')")
            #expect(try await eventually {
                (try await engine.scrape().value("pg_stat_subscription_apply_errors_total", Self.subscription) ?? 0) > errors
            })
            if version >= 180_000 {
                #expect((try await engine.scrape().value("pg_stat_subscription_conflicts_total", inserted) ?? 0) > insertExists)
            }
            try await subscriber.run("DELETE FROM pub_events WHERE id = \(id)")
            #expect(try await eventually(timeout: .seconds(30)) {
                try await subscriber.value("SELECT payload FROM pub_events WHERE id = \(id)") == "publisher"
            })
            #expect(try await eventually { try await engine.scrape().value("pg_stat_subscription_worker_up", Self.subscription) == 1 })
        }
    }
}
