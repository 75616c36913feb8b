import Foundation
import PostgresClient
import Testing
import TestSupport

/// Reloading the config file in the running binary (SIGHUP, `POST /-/reload`): targets added,
/// removed and changed, unchanged ones keeping their connection, a bad file keeping what runs.
@Suite(.serialized, .needsTestBed) struct ReloadTests {
    let bed: TestBed
    let directory: String

    init() throws {
        bed = try TestBed.current()
        directory = NSTemporaryDirectory() + "pgstack-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var file: String { directory + "/config.yml" }

    /// Writes the config file with `targets` (YAML list items).
    func write(_ targets: String, defaults: String = "") throws {
        try ("\(defaults)targets:\n" + targets).write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// The primary and replica with an application name of their own, to find the exporter's
    /// sessions in pg_stat_activity.
    var primary: String { "  - {name: primary, kind: postgres, dsn: \"\(bed.primaryDSN) application_name=pgstack_reload\"}\n" }
    var replica: String { "  - {name: replica, kind: postgres, dsn: \"\(bed.replicaDSN) application_name=pgstack_reload\"}\n" }
    var bouncer: String { "  - {name: bouncer, kind: pgbouncer, dsn: \"\(bed.pgbouncerDSN)\"}\n" }

    /// The exporter's session pids on a server.
    func sessions(_ adminDSN: String) async throws -> [String] {
        let admin = try await AdminConnection.open(adminDSN)
        return try await withCleanup {
            try await admin.run("SELECT pid::text FROM pg_stat_activity WHERE application_name = 'pgstack_reload' ORDER BY 1").rows.compactMap { $0[0] }
        } cleanup: {
            await admin.close()
        }
    }

    @Test func sighupAddsRemovesAndKeepsTargets() async throws {
        try write(primary + replica)
        let exporter = try await ExporterProcess.start(["--config.file", file])
        try await stopping(exporter) {
            let first = try await exporter.scrape()
            #expect(first.value("pg_up", ["target": "primary"]) == 1 && first.value("pg_up", ["target": "replica"]) == 1)
            #expect(first.value("pgstack_exporter_config_last_reload_successful") == 1)
            let startedAt = try #require(first.value("pgstack_exporter_config_last_reload_success_timestamp_seconds"))
            let primarySessions = try await sessions(bed.primaryAdminDSN)
            #expect(primarySessions.count == TestBed.exporterSessions)
            #expect(try await sessions(bed.replicaAdminDSN).count == TestBed.exporterSessions)

            try write(primary + bouncer)
            try exporter.send(SIGHUP)
            #expect(try await eventually { try await exporter.scrape().value("pgbouncer_up", ["target": "bouncer"]) == 1 })
            let second = try await exporter.scrape()
            #expect(second.value("pg_up", ["target": "primary"]) == 1)
            #expect(second.value("pg_up", ["target": "replica"]) == nil)
            #expect(second.value("pgstack_exporter_config_last_reload_successful") == 1)
            #expect((second.value("pgstack_exporter_config_last_reload_success_timestamp_seconds") ?? 0) > startedAt)
            // The unchanged primary kept its session; the removed replica's was closed.
            #expect(try await sessions(bed.primaryAdminDSN) == primarySessions)
            #expect(try await eventually { try await sessions(bed.replicaAdminDSN).isEmpty })
            #expect(exporter.log.contains("configuration reloaded"))
        }
    }

    @Test func aBadFileKeepsTheRunningConfigurationAndSaysWhere() async throws {
        try write(primary)
        let exporter = try await ExporterProcess.start(["--config.file", file, "--web.enable-lifecycle"])
        try await stopping(exporter) {
            #expect(try await exporter.scrape().value("pg_up", ["target": "primary"]) == 1)
            let before = try await sessions(bed.primaryAdminDSN)
            try "targets:\n  - {name: primary, kind: postgres, dsn: \"password=Sup3r-S3cret-Pw\", bogus: 1}\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            let failed = try await exporter.post("/-/reload")
            #expect(failed.status == 500)
            #expect(failed.text.contains(file + ":2") && failed.text.contains("bogus"))
            #expect(!failed.text.contains("Sup3r-S3cret-Pw") && !exporter.log.contains("Sup3r-S3cret-Pw"))
            let after = try await exporter.scrape()
            #expect(after.value("pgstack_exporter_config_last_reload_successful") == 0)
            #expect(after.value("pg_up", ["target": "primary"]) == 1)
            #expect(try await sessions(bed.primaryAdminDSN) == before)

            // A changed limit is a changed target: it reconnects.
            try write(primary, defaults: "defaults:\n  collector_timeout: 4s\n")
            let fixed = try await exporter.post("/-/reload")
            #expect(fixed.status == 200)
            let reloaded = try await exporter.scrape()
            #expect(reloaded.value("pgstack_exporter_config_last_reload_successful") == 1)
            #expect(reloaded.value("pg_up", ["target": "primary"]) == 1)
            #expect(try await eventually {
                let now = try await sessions(bed.primaryAdminDSN)
                return now.count == TestBed.exporterSessions && Set(now).isDisjoint(with: before)
            })
        }
    }

    @Test func aReloadReadsTheQueriesFileAgain() async throws {
        let queries = directory + "/queries.yaml"
        func writeQueries(_ sql: String) throws {
            try "pg_reloaded:\n  query: \(sql)\n  metrics:\n    - answer: {usage: GAUGE}\n".write(toFile: queries, atomically: true, encoding: .utf8)
        }
        try writeQueries("SELECT 1 AS answer")
        try write(primary)
        let exporter = try await ExporterProcess.start(["--config.file", file, "--extend.query-path", queries, "--web.enable-lifecycle"])
        try await stopping(exporter) {
            #expect(try await exporter.scrape().value("pg_reloaded_answer", ["target": "primary"]) == 1)
            try writeQueries("SELECT 2 AS answer")
            #expect(try await exporter.post("/-/reload").status == 200)
            #expect(try await exporter.scrape().value("pg_reloaded_answer", ["target": "primary"]) == 2, "a changed query is a changed target")
            try "pg_reloaded:\n  query: SELECT 3 AS answer\n  metrics:\n    - answer: {usage: TYPO}\n".write(toFile: queries, atomically: true, encoding: .utf8)
            let failed = try await exporter.post("/-/reload")
            #expect(failed.status == 500 && failed.text.contains(queries + ":4"))
            let after = try await exporter.scrape()
            #expect(after.value("pg_reloaded_answer", ["target": "primary"]) == 2, "the running queries stay")
            #expect(after.value("pgstack_exporter_config_last_reload_successful") == 0)
        }
    }

    @Test func aRotatedDSNFileIsReadAgainOnReload() async throws {
        let secret = directory + "/primary.dsn"
        try bed.primaryDSN.write(toFile: secret, atomically: true, encoding: .utf8)
        try write("  - {name: primary, kind: postgres, dsn_file: \(secret)}\n")
        let exporter = try await ExporterProcess.start(["--config.file", file])
        try await stopping(exporter) {
            #expect(try await exporter.scrape().value("pg_up", ["target": "primary"]) == 1)
            try (bed.primaryDSN + " password=wrong-after-rotation").write(toFile: secret, atomically: true, encoding: .utf8)
            try exporter.send(SIGHUP)
            #expect(try await eventually { try await exporter.scrape().value("pg_up", ["target": "primary"]) == 0 })
            #expect(!exporter.log.contains("wrong-after-rotation"))
            try bed.primaryDSN.write(toFile: secret, atomically: true, encoding: .utf8)
            try exporter.send(SIGHUP)
            #expect(try await eventually { try await exporter.scrape().value("pg_up", ["target": "primary"]) == 1 })
        }
    }

    /// Sharding moves a target to another exporter: this one must not keep its session open.
    @Test func aConnectionUnusedForTheIdleTimeoutIsClosed() async throws {
        try write(primary, defaults: "defaults:\n  connection_idle_timeout: 1s\n")
        let exporter = try await ExporterProcess.start(["--config.file", file])
        try await stopping(exporter) {
            #expect(try await sessions(bed.primaryAdminDSN).isEmpty)  // opened on first probe, not at start
            #expect(try await exporter.get("/probe?target=primary").status == 200)
            #expect(try await sessions(bed.primaryAdminDSN).count == TestBed.exporterSessions)
            #expect(try await eventually(timeout: .seconds(15)) { try await sessions(bed.primaryAdminDSN).isEmpty })
            let again = try ScrapeText(try await exporter.get("/probe?target=primary").text)
            #expect(again.value("pg_up", ["target": "primary"]) == 1)
        }
    }

    @Test func theLifecycleEndpointIsOffUnlessAsked() async throws {
        try write(primary)
        let exporter = try await ExporterProcess.start(["--config.file", file])
        try await stopping(exporter) {
            let response = try await exporter.post("/-/reload")
            #expect(response.status == 403)
            #expect(try await exporter.get("/-/reload").status == 404)
        }
    }
}
