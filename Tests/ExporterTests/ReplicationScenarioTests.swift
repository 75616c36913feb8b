import PostgresClient
import Testing
import TestSupport

/// Replication as operators break it, on the real primary and replica.
@Suite(.serialized, .needsTestBed) struct ReplicationScenarioTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    private func harness() throws -> EngineHarness {
        try EngineHarness([("primary", .postgres, bed.primaryDSN), ("replica", .postgres, bed.replicaDSN)])
    }

    private static let standby = ["application_name": "pgstack_replica"]

    @Test func pausedReplayRaisesLagOnBothSidesAndResumingBringsItBack() async throws {
        let engine = try harness()
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        let replica = try await AdminConnection.open(bed.replicaAdminDSN)
        try await withCleanup {
            try await primary.run("CREATE TABLE IF NOT EXISTS lag_probe (n int)")
            #expect(try await eventually { try await engine.scrape().value("pg_replication_replay_lag_bytes", ["target": "replica"]) == 0 })

            try await replica.run("SELECT pg_wal_replay_pause()")
            do {
                try await primary.run("INSERT INTO lag_probe SELECT generate_series(1, 20000)")
                try await Task.sleep(for: .milliseconds(1500))
                let paused = try await engine.scrape()
                #expect(paused.value("pg_replication_replay_paused", ["target": "replica"]) == 1)
                #expect((paused.value("pg_replication_replay_lag_bytes", ["target": "replica"]) ?? 0) > 100_000)
                #expect((paused.value("pg_replication_lag_seconds", ["target": "replica"]) ?? 0) >= 1)
                #expect((paused.value("pg_stat_replication_replay_lag_bytes", Self.standby) ?? 0) > 100_000)
                #expect(paused.value("pg_stat_replication_flush_lag_bytes", Self.standby) == 0)
                try await Task.sleep(for: .seconds(1))
                let later = try await engine.scrape()
                #expect((later.value("pg_replication_lag_seconds", ["target": "replica"]) ?? 0)
                        > (paused.value("pg_replication_lag_seconds", ["target": "replica"]) ?? 0))
            } catch {
                try await replica.run("SELECT pg_wal_replay_resume()")
                throw error
            }
            try await replica.run("SELECT pg_wal_replay_resume()")
            #expect(try await eventually {
                let scrape = try await engine.scrape()
                return scrape.value("pg_replication_replay_lag_bytes", ["target": "replica"]) == 0
                    && scrape.value("pg_replication_lag_seconds", ["target": "replica"]) == 0
                    && scrape.value("pg_stat_replication_replay_lag_bytes", Self.standby) == 0
                    && scrape.value("pg_replication_replay_paused", ["target": "replica"]) == 0
            })
        } cleanup: {
            await engine.shutdown()
            await primary.close()
            await replica.close()
        }
    }

    /// A restarted standby has replayed no commit yet (`pg_last_xact_replay_timestamp()` is
    /// NULL); if its replay then stalls, the lag must still show and grow, not read 0.
    @Test func aRestartedStandbyWhoseReplayStallsStillShowsLag() async throws {
        let engine = try harness()
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            // A checkpoint the standby has replayed before it stops, so that it restarts from there
            // with no commit left to replay.
            try await primary.run("CHECKPOINT")
            let checkpointed = try await primary.value("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')") ?? ""
            #expect(try await eventually {
                try await engine.scrape().value("pg_replication_replay_lsn_bytes", ["target": "replica"]) ?? 0 >= Double(checkpointed) ?? .infinity
            })
            try await bed.stop("replica")
            try await bed.start("replica")
            let replica = try await AdminConnection.open(bed.replicaAdminDSN)
            try await withCleanup {
                let replayedSinceStart = try await replica.value("SELECT pg_last_xact_replay_timestamp() IS NOT NULL")
                try await replica.run("SELECT pg_wal_replay_pause()")
                do {
                    try await primary.run("CREATE TABLE IF NOT EXISTS restart_probe (n int); INSERT INTO restart_probe VALUES (1)")
                    try await Task.sleep(for: .milliseconds(1500))
                    let paused = try await engine.scrape()
                    #expect((paused.value("pg_replication_replay_lag_bytes", ["target": "replica"]) ?? 0) > 0)
                    let lag = paused.value("pg_replication_lag_seconds", ["target": "replica"]) ?? 0
                    #expect(lag >= 1, "replayed a commit since start: \(replayedSinceStart ?? "?")")
                    try await Task.sleep(for: .seconds(1))
                    #expect((try await engine.scrape().value("pg_replication_lag_seconds", ["target": "replica"]) ?? 0) > lag)
                } catch {
                    try await replica.run("SELECT pg_wal_replay_resume()")
                    throw error
                }
                try await replica.run("SELECT pg_wal_replay_resume()")
                #expect(try await eventually { try await engine.scrape().value("pg_replication_lag_seconds", ["target": "replica"]) == 0 })
            } cleanup: {
                await replica.close()
            }
        } cleanup: {
            await engine.shutdown()
            await primary.close()
        }
    }

    @Test func anIdlePrimaryKeepsStandbyLagNearZero() async throws {
        let engine = try harness()
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            // Idle means idle: no vacuum left to do after the other tests' writes, a checkpoint
            // behind us, and no WAL written for 3 s.
            try await primary.run("VACUUM ANALYZE")
            try await primary.run("CHECKPOINT")
            var position = try await primary.value("SELECT pg_current_wal_lsn()")
            var quietSince = ContinuousClock.now
            #expect(try await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
                let now = try await primary.value("SELECT pg_current_wal_lsn()")
                if now != position { (position, quietSince) = (now, .now) }
                return ContinuousClock.now - quietSince >= .seconds(3)
            })
            let replica = try await AdminConnection.open(bed.replicaAdminDSN)
            try await withCleanup {
                var worst = 0.0
                var seen = ""
                for _ in 0..<7 {
                    let lag = try #require(try await engine.scrape().value("pg_replication_lag_seconds", ["target": "replica"]))
                    if lag > worst {
                        worst = lag
                        // What the standby said just after, should this fail.
                        seen = try await replica.run("""
                            SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp(),
                                   (SELECT status FROM pg_stat_wal_receiver), (SELECT last_msg_receipt_time FROM pg_stat_wal_receiver)
                            """).rows.description
                    }
                    try await Task.sleep(for: .seconds(5))
                }
                #expect(worst < 1, "standby lag reached \(worst) s on an idle primary over 30 s; the standby then: \(seen)")
            } cleanup: {
                await replica.close()
            }
        } cleanup: {
            await engine.shutdown()
            await primary.close()
        }
    }

    @Test func aSilentStreamAgesTheLastMessageAndACutStreamShowsEverywhere() async throws {
        let engine = try harness()
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        let replica = try await AdminConnection.open(bed.replicaAdminDSN)
        try await withCleanup {

            // A network that silently drops everything: the primary's WAL sender is frozen.
            let sender = try #require(try await primary.value("SELECT pid FROM pg_stat_replication WHERE application_name = 'pgstack_replica'"))
            try await Command.check("kill", ["-STOP", sender])
            do {
                let first = try await engine.scrape().value("pg_stat_wal_receiver_last_msg_receipt_age_seconds", ["target": "replica"]) ?? -1
                try await Task.sleep(for: .seconds(2))
                let second = try await engine.scrape().value("pg_stat_wal_receiver_last_msg_receipt_age_seconds", ["target": "replica"]) ?? -1
                #expect(first >= 0)
                #expect(second >= first + 1.5)
            } catch {
                try await Command.check("kill", ["-CONT", sender])
                throw error
            }
            try await Command.check("kill", ["-CONT", sender])

            // The stream cut: the replica is pointed at a port where nothing listens. The
            // subscriber's WAL sender streams on, so the count drops by one.
            let streaming = try #require(try await engine.scrape().value("pg_stat_replication_standbys", ["target": "primary", "state": "streaming"]))
            let conninfo = try #require(try await replica.value("SHOW primary_conninfo"))
            try await replica.setSystem("primary_conninfo", to: "host=127.0.0.1 port=1 user=postgres")
            do {
                #expect(try await eventually {
                    try await engine.scrape().value("pg_stat_replication_standbys", ["target": "primary", "state": "streaming"]) == streaming - 1
                })
                let cut = try await engine.scrape()
                #expect(cut.value("pg_stat_wal_receiver_status", ["target": "replica", "status": "streaming"]) != 1)
                let lag = cut.value("pg_replication_lag_seconds", ["target": "replica"]) ?? -1
                try await Task.sleep(for: .seconds(2))
                let laterLag = try await engine.scrape().value("pg_replication_lag_seconds", ["target": "replica"]) ?? -1
                #expect(lag >= 0)
                #expect(laterLag >= lag + 1.5, "lag went from \(lag) to \(laterLag) while the stream was cut")
            } catch {
                try await replica.setSystem("primary_conninfo", to: conninfo)
                throw error
            }
            try await replica.setSystem("primary_conninfo", to: conninfo)
            #expect(try await eventually {
                let scrape = try await engine.scrape()
                return scrape.value("pg_stat_replication_standbys", ["target": "primary", "state": "streaming"]) == streaming
                    && scrape.value("pg_stat_wal_receiver_status", ["target": "replica", "status": "streaming"]) == 1
                    && scrape.value("pg_replication_lag_seconds", ["target": "replica"]) == 0
            })
        } cleanup: {
            await engine.shutdown()
            await primary.close()
            await replica.close()
        }
    }

    @Test func aStoppedReplicaLeavesItsSlotInactiveAndRetainingWAL() async throws {
        let engine = try harness()
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            let slot = ["target": "primary", "slot_name": "pgstack_replica"]
            let first = try await engine.scrape()
            #expect(first.value("pg_replication_slots_active", slot) == 1)
            let streaming = try #require(first.value("pg_stat_replication_standbys", ["target": "primary", "state": "streaming"]))

            try await bed.stop("replica")
            do {
                #expect(try await eventually { try await engine.scrape().value("pg_replication_slots_active", slot) == 0 })
                let before = try await engine.scrape().value("pg_replication_slots_pg_wal_lsn_diff", slot) ?? -1
                try await primary.run("CREATE TABLE IF NOT EXISTS slot_probe (n int); INSERT INTO slot_probe SELECT generate_series(1, 20000)")
                #expect(before >= 0)
                // pg_current_wal_lsn() is the write position: with synchronous_commit off the WAL
                // may wait in the buffers for the WAL writer (wal_writer_delay) before it counts.
                #expect(try await eventually {
                    (try await engine.scrape().value("pg_replication_slots_pg_wal_lsn_diff", slot) ?? 0) > before + 100_000
                })
                let after = try await engine.scrape()
                #expect(after.value("pg_replication_slots_wal_status", slot.merging(["wal_status": "reserved"]) { $1 }) == 1)
                #expect(after.value("pg_stat_replication_standbys", ["target": "primary", "state": "streaming"]) == streaming - 1)
            } catch {
                try await bed.start("replica")
                throw error
            }
            try await bed.start("replica")
            #expect(try await eventually { try await engine.scrape().value("pg_replication_slots_active", slot) == 1 })
        } cleanup: {
            await engine.shutdown()
            await primary.close()
        }
    }
}
