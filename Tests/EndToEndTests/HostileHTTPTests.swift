import Foundation
import Testing
import TestSupport

/// Hostile HTTP against the running binary: bad headers, parameters and paths, oversized
/// requests, idle and half-sent connections, a connection flood. The exporter must answer
/// each with its status and a short reason, stay up, and never show a secret.
@Suite(.serialized, .needsTestBed) struct HostileHTTPTests {
    let bed: TestBed
    static let secret = "Sup3r-S3cret-Pw"

    init() throws {
        bed = try TestBed.current()
    }

    /// One request made with curl: `curl` arguments after the URL's path.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let path: String
        var curl: [String] = []
        let status: Int
        /// Must appear in the body ("" for any).
        var body = ""

        var testDescription: String { name }
    }

    static let timeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

    static let cases: [Case] = [
        Case(name: "timeout header 1e16", path: "/metrics", curl: ["-H", "\(timeoutHeader): 1e16"], status: 200, body: "pg_up"),
        Case(name: "timeout header inf", path: "/metrics", curl: ["-H", "\(timeoutHeader): inf"], status: 200, body: "pg_up"),
        Case(name: "timeout header nan", path: "/metrics", curl: ["-H", "\(timeoutHeader): nan"], status: 200, body: "pg_up"),
        Case(name: "timeout header negative", path: "/metrics", curl: ["-H", "\(timeoutHeader): -5"], status: 200, body: "pg_up"),
        Case(name: "timeout header zero", path: "/metrics", curl: ["-H", "\(timeoutHeader): 0"], status: 200, body: "pg_up"),
        Case(name: "timeout header empty", path: "/metrics", curl: ["-H", "\(timeoutHeader);"], status: 200, body: "pg_up"),
        Case(name: "timeout header text", path: "/metrics", curl: ["-H", "\(timeoutHeader): soon"], status: 200, body: "pg_up"),
        Case(name: "timeout header 1e-300", path: "/probe?target=primary", curl: ["-H", "\(timeoutHeader): 1e-300"], status: 200, body: "pg_up"),
        Case(name: "timeout header twice", path: "/metrics", curl: ["-H", "\(timeoutHeader): 3", "-H", "\(timeoutHeader): inf"], status: 200, body: "pg_up"),
        Case(name: "max_lag inf", path: "/replica?target=primary&max_lag=inf", status: 400, body: "max_lag"),
        Case(name: "max_lag nan", path: "/replica?target=primary&max_lag=nan", status: 400, body: "max_lag"),
        Case(name: "max_lag negative", path: "/replica?target=primary&max_lag=-1s", status: 400, body: "max_lag"),
        Case(name: "max_lag 1e400", path: "/replica?target=primary&max_lag=1e400", status: 400, body: "max_lag"),
        Case(name: "max_lag huge hours", path: "/replica?target=primary&max_lag=99999999999999999h", status: 400, body: "max_lag"),
        Case(name: "max_lag on /primary", path: "/primary?target=primary&max_lag=1s", status: 400, body: "max_lag"),
        Case(name: "probe without target", path: "/probe", status: 400, body: "missing ?target"),
        Case(name: "probe of an address", path: "/probe?target=127.0.0.1:5432", status: 400, body: "refused"),
        Case(name: "probe of a DSN", path: "/probe?target=host%3Ddb%20password%3Dx", status: 400, body: "refused"),
        Case(name: "probe of an unknown name", path: "/probe?target=nobody", status: 404, body: "no target named"),
        Case(name: "probe of a unicode name", path: "/probe?target=%F0%9F%98%80", status: 400, body: "refused"),
        Case(name: "probe with invalid percent encoding", path: "/probe?target=%zz", status: 400),
        Case(name: "probe target given twice", path: "/probe?target=primary&target=down", status: 200, body: "pg_up"),
        Case(name: "role check of PgBouncer as primary", path: "/primary?target=pgbouncer", status: 400, body: "PgBouncer"),
        Case(name: "role check of a target that is down", path: "/ready?target=down", status: 503, body: "cannot connect"),
        Case(name: "unknown path", path: "/metricz", status: 404),
        Case(name: "dot segments", path: "/metrics/../probe", curl: ["--path-as-is"], status: 404),
        Case(name: "POST to the metrics", path: "/metrics", curl: ["-X", "POST", "--data", "x"], status: 404),
        Case(name: "header over 16 KiB", path: "/healthz", curl: ["-H", "X-Big: " + String(repeating: "a", count: 20_000)], status: 431),
        Case(name: "many headers", path: "/healthz", curl: (0..<150).flatMap { ["-H", "X-H\($0): v"] }, status: 431),
        Case(name: "path of 100 KB", path: "/probe?target=" + String(repeating: "a", count: 100_000), status: 431),
        Case(name: "strange Accept-Encoding", path: "/metrics", curl: ["-H", "Accept-Encoding: gzip;q=nan, *;q=-1"], status: 200),
        Case(name: "authorization header without auth configured", path: "/metrics", curl: ["-u", "x:\(secret)"], status: 200, body: "pg_up"),
    ]

    /// The exporter with a primary, PgBouncer and a target that is down (its DSN holds a password).
    private func start(_ arguments: [String] = []) async throws -> ExporterProcess {
        try await ExporterProcess.start(targets: """
              - name: primary
                kind: postgres
                dsn: "\(bed.primaryDSN)"
              - name: pgbouncer
                kind: pgbouncer
                dsn: "\(bed.pgbouncerDSN)"
              - name: down
                kind: postgres
                dsn: "host=127.0.0.1 port=1 dbname=postgres user=u password=\(Self.secret)"
                in_metrics: false
            """, arguments: arguments)
    }

    @Test func thereAreAtLeastThirtyCases() {
        #expect(Self.cases.count >= 30)
    }

    @Test func everyHostileRequestGetsItsStatusAndTheExporterStaysUp() async throws {
        let exporter = try await start()
        try await stopping(exporter) {
            var answered = 0
            for input in Self.cases {
                let output = try await Command.run(
                    "curl", ["-sS", "--compressed", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"] + input.curl + [exporter.baseURL + input.path])
                let lines = output.text.split(separator: "\n", omittingEmptySubsequences: false)
                let status = Int(lines.last ?? "") ?? -1
                let body = lines.dropLast().joined(separator: "\n")
                #expect(status == input.status, "\(input.name): \(status) \(body.prefix(300))")
                if !input.body.isEmpty { #expect(body.contains(input.body), "\(input.name): \(body.prefix(300))") }
                for secret in [Self.secret, bed.monitorPassword] {
                    #expect(!body.contains(secret), "\(input.name) shows a secret")
                }
                if status != 200 {
                    #expect(!body.contains("127.0.0.1") && !body.contains("port 1"), "\(input.name) shows an address: \(body.prefix(300))")
                }
                answered += 1
                #expect(try await exporter.get("/healthz").status == 200, "down after \(input.name)")
            }
            #expect(answered == Self.cases.count)
            let log = exporter.log
            #expect(!log.contains(Self.secret) && !log.contains(bed.monitorPassword))
            #expect(!log.contains("Fatal error"))
            // The details a role check body leaves out are in the log, once.
            #expect(log.components(separatedBy: "role check failed").count - 1 == 1, "\(log)")
        }
    }

    /// A connection left idle, or sending its request headers a byte at a time (slowloris),
    /// is closed after the idle timeout; with the connection cap reached, a new request is
    /// answered as soon as such a connection is closed.
    @Test func idleAndHalfSentConnectionsAreClosedAndTheCapHolds() async throws {
        let exporter = try await start(["--web.idle-timeout", "1s", "--web.max-connections", "4"])
        try await stopping(exporter) {
            let script = """
                import socket, sys, time
                port = int(sys.argv[1])
                held = []
                for i in range(4):
                    s = socket.create_connection(("127.0.0.1", port))
                    if i % 2 == 0:
                        s.sendall(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n")  # never finishes its headers
                    held.append(s)
                start = time.time()
                closed = 0
                for s in held:
                    s.settimeout(10)
                    try:
                        while s.recv(4096):
                            pass
                    except OSError:
                        pass
                    closed += 1
                print(closed, round(time.time() - start, 2))
                """
            async let holder = Command.check("python3", ["-c", script, String(exporter.port)])
            try await Task.sleep(for: .milliseconds(300))
            let started = ContinuousClock.now
            let health = try await exporter.get("/healthz")
            let waited = ContinuousClock.now - started
            let held = try await holder.text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            #expect(health.status == 200)
            #expect(waited < .seconds(5), "\(waited)")
            #expect(held.first == "4", "connections closed by the server: \(held)")
            #expect((Double(held.last ?? "") ?? 99) < 5, "closed after \(held) s")
            #expect(try await exporter.scrape().value("pg_up", ["target": "primary"]) == 1)
        }
    }

    /// Out of file descriptors, the exporter refuses connections for a while but its accept
    /// loop survives: once the flood is gone, it answers again.
    @Test func runningOutOfFileDescriptorsIsSurvived() async throws {
        let exporter = try await start()
        try await stopping(exporter) {
            let pid = try await Command.check("pgrep", ["-n", "-f", "pgstack_exporter --config.file"]).text.trimmingCharacters(in: .whitespacesAndNewlines)
            try await Command.check("prlimit", ["--pid", pid, "--nofile=64:4096"])
            let flood = """
                import socket, sys, time
                held = []
                for i in range(200):
                    try:
                        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
                    except OSError:
                        pass
                time.sleep(1)
                print(len(held))
                """
            let flooded = try await Command.check("python3", ["-c", flood, String(exporter.port)])
            #expect((Int(flooded.text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0)
            try await Command.check("prlimit", ["--pid", pid, "--nofile=4096:4096"])
            var health = 0
            for _ in 0..<20 where health != 200 {
                health = (try? await exporter.get("/healthz").status) ?? 0
                if health != 200 { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(health == 200)
            #expect(try await exporter.scrape().value("pg_up", ["target": "primary"]) == 1)
        }
    }
}
