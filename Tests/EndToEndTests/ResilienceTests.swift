import Foundation
import PostgresClient
import Testing
import TestSupport

/// What an operator sees when things go wrong: a server down, a wrong password, a bad flag,
/// a storm of scrapes.
@Suite(.needsTestBed) struct ResilienceTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    @Test func thePrimaryGoingDownGivesUpZeroInTimeAndComingBackGivesACompleteScrape() async throws {
        let exporter = try await ExporterProcess.start([], environment: ["DATA_SOURCE_NAME": bed.primaryDSN])
        try await stopping(exporter) {
            #expect(try await exporter.scrape().value("pg_up") == 1)

            let outage = try await bed.outage(of: "primary", scraping: exporter)
            #expect(outage.downScrapeTook < .seconds(3))
            let down = outage.down
            #expect(down.value("pg_up", ["target": "postgres"]) == 0)
            #expect(down.value("pgstack_exporter_collector_success", ["collector": "connections"]) == 0)
            #expect((down.value("pgstack_exporter_collector_errors_total", ["collector": "connections"]) ?? 0) >= 1)

            let back = outage.back
            #expect(back.value("pg_up", ["target": "postgres"]) == 1)
            #expect(back.samples("pgstack_exporter_collector_success").count == DefaultCollectors.postgres)
            for sample in back.samples("pgstack_exporter_collector_success") {
                #expect(sample.value == 1, "\(sample.labels)")
            }
            #expect(!back.samples("pg_stat_activity_count").isEmpty)
            #expect(exporter.log.contains("target unreachable"))
        }
    }

    @Test func fiftyConcurrentScrapesNeverHoldMoreThanTheConfiguredConnection() async throws {
        let applicationName = "pgstack_e2e_\(UInt32.random(in: 0...UInt32.max))"
        let exporter = try await ExporterProcess.start(
            ["--target.max-connections", "1", "--web.max-requests", "100"],
            environment: ["DATA_SOURCE_NAME": TestBed.withApplicationName(bed.primaryDSN, applicationName)])
        try await stopping(exporter) {

            let pool = BlockingPool(threadCount: 1)
            let admin = try await Connection.connect(to: try ConnectionString(bed.primaryAdminDSN), on: pool)
            let countSQL = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(applicationName)'"
            let watching = Task {
                var most = 0
                while !Task.isCancelled {
                    // Cancelled while a query runs: the sampling is over, not failed.
                    guard let rows = try? await admin.query(countSQL, timeout: .seconds(5), on: pool).rows else { break }
                    most = max(most, Int(rows.first?.first.flatMap { $0 } ?? "0") ?? 0)
                    try? await Task.sleep(for: .milliseconds(10))
                }
                return most
            }
            let statuses = try await withThrowingTaskGroup(of: (Int, Double?).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let response = try await exporter.get("/metrics")
                        return (response.status, try? ScrapeText(response.text).value("pg_up"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            watching.cancel()
            let mostSessions = await watching.value
            #expect(statuses.count == 50)
            #expect(statuses.allSatisfy { $0.0 == 200 && $0.1 == 1 })
            #expect(mostSessions == TestBed.exporterSessions, "the exporter held \(mostSessions) sessions at once")
            let held = try await admin.query(countSQL, timeout: .seconds(5), on: pool).rows
            #expect(held == [["\(TestBed.exporterSessions)"]])
        }
    }

    @Test(arguments: ["key=value", "URI"])
    func aWrongPasswordIsReportedAndNeverLogged(form: String) async throws {
        let secret = "N0t-The-Pa55word-\(UInt32.random(in: 0...UInt32.max))"
        let dsn = form == "URI"
            ? "postgresql://pgstack_monitor:\(secret)@127.0.0.1:\(bed.primaryPort)/postgres"
            : bed.primaryDSN(password: secret)
        let exporter = try await ExporterProcess.start(["--log.level", "debug"], environment: ["DATA_SOURCE_NAME": dsn])
        let scrape = try await exporter.scrape()
        _ = try await exporter.scrape()
        await exporter.stop()
        #expect(scrape.value("pg_up") == 0)
        let log = exporter.log
        #expect(log.contains("password authentication failed"))
        #expect(!log.contains(secret))
        #expect(!scrape.samples.contains { $0.labels.values.contains { $0.contains(secret) } })
    }

    @Test func aBadDSNStopsTheStartWithAClearErrorThatHidesTheSecret() async throws {
        let output = try await Command.run(
            ExporterProcess.binaryPath, ["--dsn", "host=127.0.0.1 password=Hunter2Secret bogus", "--web.listen-address", "127.0.0.1:0"])
        #expect(output.exitCode != 0)
        #expect(output.standardError.contains("--dsn"))
        #expect(output.standardError.contains("invalid connection string"))
        #expect(!output.standardError.contains("Hunter2Secret"))
    }

    @Test func configCheckNamesTheLineOfAMistake() async throws {
        let file = NSTemporaryDirectory() + "pgstack-bad-\(UUID().uuidString).yml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "targets:\n  - name: primary\n    kind: postgress\n    dsn: \"host=127.0.0.1 password=Hunter2Secret\"\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try await Command.run(ExporterProcess.binaryPath, ["--config.file", file, "--config.check"])
        #expect(bad.exitCode != 0)
        #expect(bad.standardError.contains("\(file):3:11: targets[0].kind"))
        #expect(!bad.standardError.contains("Hunter2Secret"))

        try "targets:\n  - name: primary\n    kind: postgres\n    dsn: \"\(bed.primaryDSN)\"\n".write(toFile: file, atomically: true, encoding: .utf8)
        let good = try await Command.run(ExporterProcess.binaryPath, ["--config.file", file, "--config.check", "--collector.disable", "statements,locks"])
        #expect(good.exitCode == 0)
        #expect(good.text.contains("primary (postgres)"))
        #expect(good.text.contains("connections"))
        #expect(!good.text.contains("statements"))
        #expect(!good.text.contains("locks"))
        #expect(!good.text.contains(bed.monitorPassword))
    }

    @Test func aPgBouncerThatIsDownAtStartIsReportedNotFatal() async throws {
        let exporter = try await ExporterProcess.start([], environment: [
            "PGBOUNCER_DSN": "host=127.0.0.1 port=1 dbname=pgbouncer user=pgstack_monitor",
            "DATA_SOURCE_NAME": bed.primaryDSN,
        ])
        try await stopping(exporter) {
            let scrape = try await exporter.scrape()
            #expect(scrape.value("pgbouncer_up", ["target": "pgbouncer"]) == 0)
            #expect(scrape.value("pg_up", ["target": "postgres"]) == 1)
        }
    }

    @Test func sigtermStopsTheExporterCleanly() async throws {
        let exporter = try await ExporterProcess.start([], environment: ["DATA_SOURCE_NAME": bed.primaryDSN])
        _ = try await exporter.scrape()
        let status = await exporter.stop()
        #expect(status == 0)
    }
}

@Suite(.needsTestBed) struct RequestLimitTests {
    /// While targets connect (hundreds at start, each authenticating), their places are not
    /// those of connected targets: with `--web.max-requests 1` and one target hanging in its
    /// connect, a connected target is still answered, and another target that must connect is
    /// refused.
    @Test func targetsThatConnectDoNotShutOutConnectedOnes() async throws {
        let bed = try TestBed.current()
        let silent = try SilentServer()
        defer { silent.close() }
        let exporter = try await ExporterProcess.start(targets: """
              - name: primary
                kind: postgres
                dsn: "\(bed.primaryDSN)"
              - name: silent
                kind: postgres
                dsn: "host=127.0.0.1 port=\(silent.port) dbname=postgres user=x connect_timeout=5"
              - name: other
                kind: postgres
                dsn: "host=127.0.0.1 port=\(silent.port) dbname=postgres user=y connect_timeout=5"
            """, arguments: ["--web.max-requests", "1"])
        try await stopping(exporter) {
            #expect(try await exporter.get("/probe?target=primary").text.contains("pg_up{target=\"primary\"} 1"))
            let hanging = Task { try await exporter.get("/probe?target=silent", headers: ["X-Prometheus-Scrape-Timeout-Seconds": "3"]).status }
            try await Task.sleep(for: .milliseconds(500))
            let connected = try await exporter.get("/probe?target=primary")
            #expect(connected.status == 200)
            #expect(connected.text.contains("pg_up{target=\"primary\"} 1"))
            #expect(try await exporter.get("/probe?target=other").status == 503)
            #expect(try await hanging.value == 200)
        }
    }

    /// Past `--web.max-requests`, a request that would start work is refused at once (503),
    /// while requests that join a collection already running are never shed.
    @Test func onlyRequestsThatStartWorkAreShed() async throws {
        let silent = try SilentServer()
        defer { silent.close() }
        let exporter = try await ExporterProcess.start(
            ["--web.max-requests", "2", "--scrape.timeout", "2s"],
            environment: ["DATA_SOURCE_NAME": "host=127.0.0.1 port=\(silent.port) dbname=postgres user=x"])
        try await stopping(exporter) {
            // Eight scrapes of the hanging target at once: one starts the collection, seven join it.
            let scrapes = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await exporter.get("/metrics").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(scrapes.count == 8)
            #expect(scrapes.allSatisfy { $0 == 200 }, "\(scrapes)")
            // Eight role checks at once: each one is new work, so six are refused.
            let checks = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await exporter.get("/ready?target=postgres").text }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(checks.count == 8)
            #expect(checks.filter { $0.contains("exporter busy") }.count >= 4, "\(checks)")
            #expect(checks.filter { $0.contains("unreachable") }.count >= 1, "\(checks)")
            #expect(try await exporter.get("/metrics").status == 200)
        }
    }
}
