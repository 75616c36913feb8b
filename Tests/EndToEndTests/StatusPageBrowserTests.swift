import Foundation
import Testing
import TestSupport

/// The status page at `/` in a real browser (Debian's headless `chromium`) against the binary
/// on the live bed: a stopped PgBouncer shows as down, the servers as up with their roles, and
/// a screenshot is kept (`$PGSTACK_TEST_ARTIFACTS`, or `.build/test-artifacts`).
@Suite(.serialized, .needsTestBed) struct StatusPageBrowserTests {
    let bed: TestBed

    init() throws {
        bed = try TestBed.current()
    }

    /// Where test artifacts go.
    static var artifacts: String {
        let configured = ProcessInfo.processInfo.environment["PGSTACK_TEST_ARTIFACTS"] ?? ""
        return configured.isEmpty ? FileManager.default.currentDirectoryPath + "/.build/test-artifacts" : configured
    }

    /// Runs headless Chromium (as root it needs `--no-sandbox`) with a profile of its own, for
    /// at most 60 s.
    static func chromium(_ arguments: [String]) async throws -> Command.Output {
        let profile = NSTemporaryDirectory() + "pgstack-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let output = try await Command.run("timeout", [
            "-k", "5", "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--user-data-dir=\(profile)",
        ] + arguments)
        guard output.exitCode == 0 else {
            throw ChromiumFailed(exitCode: output.exitCode, standardError: String(output.standardError.suffix(2000)))
        }
        return output
    }

    /// The `<section>` of target `name` in the DOM.
    static func section(_ dom: String, _ name: String) -> String? {
        guard let start = dom.range(of: "data-target=\"\(name)\"") else { return nil }
        let rest = dom[start.lowerBound...]
        return String(rest[..<(rest.range(of: "</section>")?.upperBound ?? rest.endIndex)])
    }

    @Test func aStoppedPgBouncerShowsAsDownAndTheServersAsUp() async throws {
        let exporter = try await ExporterProcess.start(targets: """
              - {name: primary, kind: postgres, dsn: "\(bed.primaryDSN)"}
              - {name: replica, kind: postgres, dsn: "\(bed.replicaDSN)"}
              - {name: pgbouncer, kind: pgbouncer, dsn: "\(bed.pgbouncerDSN)"}

            """)
        try await stopping(exporter) {
            let first = try await exporter.scrape()
            #expect(first.value("pgbouncer_up", ["target": "pgbouncer"]) == 1)
            try await bed.stop("pgbouncer")
            try await withCleanup {
                let down = try await exporter.scrape(headers: ["X-Prometheus-Scrape-Timeout-Seconds": "5"])
                #expect(down.value("pgbouncer_up", ["target": "pgbouncer"]) == 0)
                #expect(down.value("pg_up", ["target": "primary"]) == 1)

                let dom = try await Self.chromium(["--dump-dom", exporter.baseURL + "/"]).text
                #expect(dom.contains("3 targets: 2 up, 1 down"))
                let pgbouncer = try #require(Self.section(dom, "pgbouncer"), "\(dom)")
                #expect(pgbouncer.contains("data-state=\"down\"") && pgbouncer.contains("down since"))
                #expect(pgbouncer.contains("cannot connect: Connection refused"))
                let primary = try #require(Self.section(dom, "primary"))
                #expect(primary.contains("data-state=\"up\"") && primary.contains("up since"))
                #expect(primary.contains("<dd>primary</dd>") && !primary.contains("Replication lag"))
                let replica = try #require(Self.section(dom, "replica"))
                #expect(replica.contains("data-state=\"up\"") && replica.contains("<dd>standby</dd>") && replica.contains("Replication lag"))
                #expect(dom.contains("href=\"/probe?target=pgbouncer\"") && dom.contains("href=\"/sd\""))
                #expect(!dom.contains(bed.monitorPassword) && !dom.contains("127.0.0.1"))

                try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
                let screenshot = Self.artifacts + "/status-page.png"
                try? FileManager.default.removeItem(atPath: screenshot)
                _ = try await Self.chromium(["--screenshot=\(screenshot)", "--window-size=1280,900", "--hide-scrollbars", exporter.baseURL + "/"])
                let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
                #expect(png.count > 10_000)
                #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            } cleanup: {
                do {
                    try await bed.start("pgbouncer")
                } catch {
                    Issue.record("could not start PgBouncer again: \(error)")
                }
            }
        }
    }
}

struct ChromiumFailed: Error, CustomStringConvertible {
    let exitCode: Int32?
    let standardError: String
    var description: String { "chromium exited with \(exitCode.map(String.init) ?? "a signal"): \(standardError)" }
}
