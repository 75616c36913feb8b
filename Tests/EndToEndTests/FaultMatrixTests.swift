import Foundation
import Testing
import TestSupport

/// The faults a network and its servers throw at an exporter, each against the live bed: the
/// scrape answers HTTP 200 within its deadline with the right `up`, the next scrape after the
/// fault is complete, and nothing printed holds a secret.
@Suite(.serialized, .needsTestBed) struct FaultMatrixTests {
    let bed: TestBed
    static let timeout = ["X-Prometheus-Scrape-Timeout-Seconds": "2"]

    init() throws {
        bed = try TestBed.current()
    }

    /// The exporter on the primary (a session named `application`) and PgBouncer, as `/probe` targets.
    private func start(application: String, extra targets: String = "", arguments: [String] = []) async throws -> ExporterProcess {
        try await ExporterProcess.start(targets: """
              - name: primary
                kind: postgres
                dsn: "\(TestBed.withApplicationName(bed.primaryDSN, application))"
              - name: pgbouncer
                kind: pgbouncer
                dsn: "\(bed.pgbouncerDSN)"
            \(targets)
            """, arguments: arguments)
    }

    /// A probe of `target` and how long it took; throws unless HTTP 200.
    private func probe(_ exporter: ExporterProcess, _ target: String, headers: [String: String] = timeout) async throws -> (ScrapeText, Duration) {
        let started = ContinuousClock.now
        let response = try await exporter.get("/probe?target=\(target)", headers: headers)
        guard response.status == 200 else { throw UnexpectedStatus(status: response.status, body: response.text) }
        return (try ScrapeText(response.text), ContinuousClock.now - started)
    }

    /// Whether every collector of the scrape succeeded (and there were some).
    private func complete(_ scrape: ScrapeText) -> Bool {
        let results = scrape.samples("pgstack_exporter_collector_success")
        return !results.isEmpty && results.allSatisfy { $0.value == 1 }
    }

    private func expectNoSecret(_ exporter: ExporterProcess, _ texts: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        for text in texts + [exporter.log] {
            #expect(!text.contains(bed.monitorPassword), "a secret was printed", sourceLocation: sourceLocation)
        }
    }

    @Test func aFrozenPrimaryGivesUpZeroInTimeSlowsNoOtherTargetAndRecovers() async throws {
        let exporter = try await start(application: "pgstack_fault_frozen")
        try await stopping(exporter) {
            #expect(complete(try await probe(exporter, "primary").0))
            let (frozen, frozenTook, pooler, poolerTook) = try await Freeze.during("primary") {
                let (frozen, frozenTook) = try await probe(exporter, "primary")
                let (pooler, poolerTook) = try await probe(exporter, "pgbouncer")
                return (frozen, frozenTook, pooler, poolerTook)
            }
            #expect(frozen.value("pg_up") == 0)
            #expect(frozenTook < .seconds(2), "\(frozenTook)")
            #expect(pooler.value("pgbouncer_up") == 1)
            #expect(poolerTook < .seconds(1), "PgBouncer's scrape waited for the frozen primary: \(poolerTook)")
            #expect(try await eventually(timeout: .seconds(15)) { try await probe(exporter, "primary").0.value("pg_up") == 1 })
            #expect(complete(try await probe(exporter, "primary").0))
            expectNoSecret(exporter)
        }
    }

    @Test func sigtermStopsTheExporterWithinSecondsWhileAServerIsFrozen() async throws {
        let exporter = try await start(application: "pgstack_fault_sigterm")
        #expect(complete(try await probe(exporter, "primary").0))
        let (status, took) = try await Freeze.during("primary") {
            // A scrape willing to wait 30 s is in flight when SIGTERM comes.
            async let waiting = try? probe(exporter, "primary", headers: ["X-Prometheus-Scrape-Timeout-Seconds": "30"])
            try await Task.sleep(for: .milliseconds(500))
            let started = ContinuousClock.now
            let status = await exporter.stop()
            let took = ContinuousClock.now - started
            _ = await waiting
            return (status, took)
        }
        #expect(status == 0)
        #expect(took < .seconds(6), "\(took)")
    }

    @Test func aPortThatNeverAnswersGivesUpZeroAndTheOtherTargetsStayFast() async throws {
        let silent = try SilentServer()
        defer { silent.close() }
        let exporter = try await start(application: "pgstack_fault_silent", extra: """
              - name: silent
                kind: postgres
                dsn: "host=127.0.0.1 port=\(silent.port) dbname=postgres user=x password=\(bed.monitorPassword)"
            """)
        try await stopping(exporter) {
            let started = ContinuousClock.now
            let all = try await exporter.scrape(headers: Self.timeout)
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(all.value("pg_up", ["target": "silent"]) == 0)
            #expect(all.value("pg_up", ["target": "primary"]) == 1)
            for _ in 0..<3 {
                async let hanging = probe(exporter, "silent")
                let (primary, took) = try await probe(exporter, "primary")
                #expect(primary.value("pg_up") == 1)
                #expect(took < .seconds(1), "the primary waited for the silent target: \(took)")
                #expect(try await hanging.0.value("pg_up") == 0)
            }
            expectNoSecret(exporter)
        }
    }

    /// More targets hanging in connect than the exporter has threads for queries (16): the
    /// connected primary's probe is still answered at once.
    @Test func moreSilentTargetsThanQueryThreadsDoNotStallAConnectedTarget() async throws {
        let silent = try SilentServer()
        defer { silent.close() }
        let names = (0..<20).map { "silent\($0)" }
        let exporter = try await start(application: "pgstack_fault_many_silent", extra: names.map {
            "  - name: \($0)\n    kind: postgres\n    dsn: \"host=127.0.0.1 port=\(silent.port) dbname=postgres user=x password=\(bed.monitorPassword)\"\n"
        }.joined())
        try await stopping(exporter) {
            #expect(complete(try await probe(exporter, "primary").0))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in names { group.addTask { _ = try? await self.probe(exporter, name) } }
                try await Task.sleep(for: .milliseconds(500))  // every silent target is connecting
                let (primary, took) = try await probe(exporter, "primary")
                #expect(primary.value("pg_up") == 1)
                #expect(took < .seconds(1), "the primary waited for threads held by connects: \(took)")
                try await group.waitForAll()
            }
            expectNoSecret(exporter)
        }
    }

    @Test func theExportersBackendTerminatedBetweenAndDuringScrapesIsReplaced() async throws {
        let application = "pgstack_fault_terminated"
        let exporter = try await start(application: application)
        try await stopping(exporter) {
            let admin = try await AdminConnection.open(bed.primaryAdminDSN)
            let terminate = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '\(application)'"
            #expect(complete(try await probe(exporter, "primary").0))
            #expect(try await admin.value(terminate) == "\(TestBed.exporterSessions)")
            // Between scrapes: the next one notices the dead connection and reconnects at once.
            #expect(complete(try await probe(exporter, "primary").0))
            // During scrapes: every answer is still a 200, and once it stops the next is complete.
            let terminator = Task {
                for _ in 0..<40 {
                    _ = try? await admin.value(terminate)
                    try await Task.sleep(for: .milliseconds(25))
                }
            }
            var statuses: [Int] = []
            for _ in 0..<20 {
                statuses.append(try await exporter.get("/probe?target=primary", headers: Self.timeout).status)
            }
            _ = await terminator.result
            #expect(statuses.count == 20)
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(complete(try await probe(exporter, "primary").0))
            await admin.close()
            expectNoSecret(exporter)
        }
    }

    @Test func aCatalogLockedByAnotherSessionFailsOnlyTheCollectorsThatReadIt() async throws {
        let exporter = try await start(application: "pgstack_fault_lock")
        try await stopping(exporter) {
            #expect(complete(try await probe(exporter, "primary", headers: [:]).0))
            let admin = try await AdminConnection.open(bed.primaryAdminDSN)
            try await admin.run("BEGIN; LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE")
            let locked: (ScrapeText, Duration)
            do {
                locked = try await probe(exporter, "primary", headers: [:])
                try await admin.run("ROLLBACK")
            } catch {
                try? await admin.run("ROLLBACK")
                throw error
            }
            await admin.close()
            let (scrape, took) = locked
            #expect(scrape.value("pg_up") == 1)
            #expect(took < .seconds(9), "\(took)")
            let failed = scrape.samples("pgstack_exporter_collector_success").filter { $0.value == 0 }.compactMap { $0.labels["collector"] }
            #expect(failed.contains("database"), "\(failed)")
            #expect(!failed.contains("server") && !failed.contains("wal"), "\(failed)")
            #expect(complete(try await probe(exporter, "primary", headers: [:]).0))
        }
    }

    @Test func aPausedPgBouncerStillAnswersAndAFrozenOneGivesUpZeroThenRecovers() async throws {
        let exporter = try await start(application: "pgstack_fault_pooler")
        try await stopping(exporter) {
            #expect(complete(try await probe(exporter, "pgbouncer").0))
            let pidFile = (ProcessInfo.processInfo.environment["PGSTACK_TESTBED_DIR"] ?? "/tmp/pgstack-testbed") + "/pgbouncer.pid"
            let pid = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            // PAUSE (SIGUSR1) stops the pools; the admin console goes on answering.
            try await Command.check("kill", ["-USR1", pid])
            let paused: ScrapeText
            do {
                paused = try await probe(exporter, "pgbouncer").0
                try await Command.check("kill", ["-USR2", pid])  // RESUME
            } catch {
                _ = try? await Command.run("kill", ["-USR2", pid])
                throw error
            }
            #expect(paused.value("pgbouncer_up") == 1)
            // Frozen (what a suspended or hung pooler is to a client): up 0 within the deadline.
            let (frozen, took) = try await Freeze.during("pgbouncer") { try await probe(exporter, "pgbouncer") }
            #expect(frozen.value("pgbouncer_up") == 0)
            #expect(took < .seconds(2), "\(took)")
            #expect(try await eventually(timeout: .seconds(15)) { try await probe(exporter, "pgbouncer").0.value("pgbouncer_up") == 1 })
            #expect(complete(try await probe(exporter, "pgbouncer").0))
            expectNoSecret(exporter)
        }
    }

    @Test func aWrongPasswordIsLoggedOncePerChangeOfStateNotOncePerScrape() async throws {
        let secret = "Wr0ng-Pa55-\(UInt32.random(in: 0...UInt32.max))"
        let exporter = try await ExporterProcess.start([], environment: ["DATA_SOURCE_NAME": bed.primaryDSN(password: secret)])
        try await stopping(exporter) {
            var ups: [Double?] = []
            for _ in 0..<5 {
                let response = try await exporter.get("/metrics", headers: Self.timeout)
                #expect(response.status == 200)
                #expect(!response.text.contains(secret))
                ups.append(try ScrapeText(response.text).value("pg_up"))
            }
            #expect(ups.count == 5)
            #expect(ups.allSatisfy { $0 == 0 }, "\(ups)")
            let log = exporter.log
            #expect(log.components(separatedBy: "target unreachable").count - 1 == 1, "\(log)")
            #expect(log.contains("password authentication failed"))
            #expect(!log.contains(secret))
        }
    }

    /// A scraper's tiny timeout header does not cut short the collection it starts: that
    /// collection runs to the configured budget, so it fails nothing and a scrape that joins
    /// it (or comes after) is complete.
    @Test func aTinyTimeoutHeaderDoesNotCutShortTheSharedCollection() async throws {
        let exporter = try await start(application: "pgstack_fault_tiny")
        try await stopping(exporter) {
            let tiny = try await exporter.get("/probe?target=primary", headers: ["X-Prometheus-Scrape-Timeout-Seconds": "0.001"])
            #expect(tiny.status == 200)
            let joined = try await probe(exporter, "primary", headers: [:]).0
            #expect(complete(joined))
            try await Task.sleep(for: .milliseconds(500))
            let after = try await probe(exporter, "primary", headers: [:]).0
            let errors = after.samples("pgstack_exporter_collector_errors_total")
            #expect(!errors.isEmpty)
            #expect(errors.allSatisfy { $0.value == 0 }, "\(errors.filter { $0.value > 0 }.map { $0.labels })")
        }
    }

    /// A replica promoted: the role it reports flips within a scrape or two, and `/primary`
    /// and `/replica` follow (on a standby made for this test, not the bed's replica).
    @Test func aPromotedReplicaFlipsItsRoleWithinAScrapeOrTwo() async throws {
        let standby = try await ThrowawayStandby.start(from: bed)
        do {
            let exporter = try await start(application: "pgstack_fault_promote", extra: """
                  - name: standby
                    kind: postgres
                    dsn: "\(standby.dsn(like: bed))"
                """)
            try await stopping(exporter) {
                #expect(try await eventually { try await exporter.get("/replica?target=standby").status == 200 })
                #expect(try await exporter.get("/primary?target=standby").status == 503)
                #expect(try await probe(exporter, "standby").0.value("pg_replication_is_replica") == 1)
                try await standby.promote()
                var roles: [Double?] = []
                for _ in 0..<2 where roles.last != 0 {
                    roles.append(try await probe(exporter, "standby").0.value("pg_replication_is_replica"))
                }
                #expect(roles.last == 0, "roles after the promotion: \(roles)")
                #expect(try await exporter.get("/primary?target=standby").status == 200)
                #expect(try await exporter.get("/replica?target=standby").status == 503)
                expectNoSecret(exporter)
            }
        } catch {
            await standby.remove()
            throw error
        }
        await standby.remove()
    }

    /// A collector whose query the client gave up on, with no answer from the server (not even
    /// to the cancel), does not count as the server answering: `pg_up` stays 0.
    @Test func aClientSideTimeoutWithNoAnswerIsNotUp() async throws {
        let exporter = try await start(application: "pgstack_fault_no_answer", arguments: ["--collector.timeout", "1s"])
        try await stopping(exporter) {
            #expect(complete(try await probe(exporter, "primary").0))
            let frozen = try await Freeze.during("primary") {
                try await probe(exporter, "primary", headers: ["X-Prometheus-Scrape-Timeout-Seconds": "6"]).0
            }
            let failed = frozen.samples("pgstack_exporter_collector_success").filter { $0.value == 0 }
            #expect(!failed.isEmpty, "no collector gave up within the scrape")
            #expect(frozen.value("pg_up") == 0)
            #expect(try await eventually(timeout: .seconds(15)) { try await probe(exporter, "primary").0.value("pg_up") == 1 })
        }
    }
}
