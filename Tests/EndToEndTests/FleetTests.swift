import Foundation
import Testing
import TestSupport

/// One exporter watching the whole bed: /probe per target, role checks for routers, secrets
/// from files and the environment.
@Suite(.serialized, .needsTestBed) struct FleetTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    /// An exporter on the whole bed from a config file; the replica is left out of /metrics,
    /// and the primary's password comes from a file.
    private func start(applicationName: String = "pgstack_fleet") async throws -> ExporterProcess {
        let directory = NSTemporaryDirectory() + "pgstack-fleet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let withoutPassword = bed.primaryDSN.replacingOccurrences(of: "password=\(bed.monitorPassword)", with: "")
        try (bed.monitorPassword + "\n").write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        try """
            targets:
              - name: primary
                kind: postgres
                dsn: "\(withoutPassword) application_name=\(applicationName)"
                password_file: \(directory)/password
              - name: replica
                kind: postgres
                dsn_env: PGSTACK_FLEET_REPLICA_DSN
                in_metrics: false
              - name: pgbouncer
                kind: pgbouncer
                dsn: "\(bed.pgbouncerDSN)"
            """.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        return try await ExporterProcess.start(
            ["--config.file", directory + "/config.yml"], environment: ["PGSTACK_FLEET_REPLICA_DSN": bed.replicaDSN])
    }

    @Test func eachTargetIsProbedAloneByNameAndMetricsServesTheDefaultOnes() async throws {
        let exporter = try await start()
        try await stopping(exporter) {
            for (name, up) in [("primary", "pg_up"), ("replica", "pg_up"), ("pgbouncer", "pgbouncer_up")] {
                let response = try await exporter.get("/probe?target=\(name)")
                #expect(response.status == 200)
                let scrape = try ScrapeText(response.text)
                #expect(scrape.value(up, ["target": name]) == 1, "\(name)")
                #expect(Set(scrape.samples.compactMap { $0.labels["target"] }) == [name])
                let successes = scrape.samples("pgstack_exporter_collector_success")
                #expect(successes.count == (up == "pg_up" ? 13 : 6), "\(name)")
                #expect(successes.allSatisfy { $0.value == 1 })
            }
            #expect(try await exporter.get("/probe?target=replica").text.contains("pg_replication_is_replica{target=\"replica\"} 1"))
            let metrics = try await exporter.scrape()
            #expect(Set(metrics.samples.compactMap { $0.labels["target"] }) == ["primary", "pgbouncer"])
            #expect(!exporter.log.contains(bed.monitorPassword))
        }
    }

    @Test func onlyConfiguredNamesCanBeProbed() async throws {
        let exporter = try await start()
        try await stopping(exporter) {
            let unknown = try await exporter.get("/probe?target=elsewhere")
            #expect(unknown.status == 404)
            #expect(unknown.text.contains("no target named"))
            for refused in ["host%3D10.0.0.1%20user%3Dx", "10.0.0.1:5432", "postgresql%3A%2F%2Fx%40db%2Fpostgres", "127.0.0.1"] {
                let response = try await exporter.get("/probe?target=\(refused)")
                #expect(response.status == (refused == "127.0.0.1" ? 404 : 400), "\(refused)")
            }
            #expect(try await exporter.get("/probe").status == 400)
            #expect(try await exporter.get("/primary?target=elsewhere").status == 404)
        }
    }

    @Test func roleChecksTellPrimaryFromReplicaAndMaxLagFollowsReplay() async throws {
        let exporter = try await start()
        let primary = try await AdminConnection.open(bed.primaryAdminDSN)
        let replica = try await AdminConnection.open(bed.replicaAdminDSN)
        try await withCleanup {
            #expect(try await exporter.get("/primary?target=primary").status == 200)
            #expect(try await exporter.get("/primary?target=replica").status == 503)
            #expect(try await exporter.get("/replica?target=replica").status == 200)
            #expect(try await exporter.get("/replica?target=primary").status == 503)
            #expect(try await exporter.get("/ready?target=pgbouncer").status == 200)
            #expect(try await exporter.get("/primary?target=pgbouncer").status == 400)
            let answer = try await exporter.get("/replica?target=replica")
            #expect(answer.headers["content-type"] == "application/json")
            #expect(answer.text.contains("\"role\":\"replica\""))

            try await primary.run("CREATE TABLE IF NOT EXISTS router_probe (n int)")
            try await replica.run("SELECT pg_wal_replay_pause()")
            do {
                try await primary.run("INSERT INTO router_probe SELECT generate_series(1, 10000)")
                #expect(try await eventually { try await exporter.get("/replica?target=replica&max_lag=1s").status == 503 })
                #expect(try await exporter.get("/replica?target=replica").status == 200)
                #expect(try await exporter.get("/replica?target=replica&max_lag=1h").status == 200)
            } catch {
                try await replica.run("SELECT pg_wal_replay_resume()")
                throw error
            }
            try await replica.run("SELECT pg_wal_replay_resume()")
            #expect(try await eventually { try await exporter.get("/replica?target=replica&max_lag=1s").status == 200 })
        } cleanup: {
            await exporter.stop()
            await primary.close()
            await replica.close()
        }
    }

    @Test func aBurstOfRoleChecksOpensNoNewConnections() async throws {
        let applicationName = "pgstack_burst_\(UInt32.random(in: 0...UInt32.max))"
        let exporter = try await start(applicationName: applicationName)
        let admin = try await AdminConnection.open(bed.primaryAdminDSN)
        try await withCleanup {
            let countSQL = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(applicationName)'"
            #expect(try await exporter.get("/primary?target=primary").status == 200)
            let sessionsBefore = try await admin.value(countSQL)
            let backendStart = try await admin.value("SELECT min(backend_start) FROM pg_stat_activity WHERE application_name = '\(applicationName)'")

            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    group.addTask { try await exporter.get(index % 2 == 0 ? "/primary?target=primary" : "/ready?target=primary").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == 200)
            #expect(statuses.filter { $0 == 200 }.count + statuses.filter { $0 == 503 }.count == 200)
            #expect(statuses.filter { $0 == 200 }.count >= 150)
            #expect(try await admin.value(countSQL) == sessionsBefore)
            #expect(sessionsBefore == "1")
            #expect(try await admin.value("SELECT min(backend_start) FROM pg_stat_activity WHERE application_name = '\(applicationName)'") == backendStart)
        } cleanup: {
            await exporter.stop()
            await admin.close()
        }
    }
}
