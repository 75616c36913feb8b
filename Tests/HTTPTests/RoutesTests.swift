import Collectors
import Exporter
import ExporterHTTP
import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Logging
import PostgresClient
import Testing
import TestSupport

/// The HTTP routes in-process (HummingbirdTesting's router framework): status codes, headers,
/// gzip, parameters, basic auth and the request limit, where the binary is not the point.
/// The targets point at ports where no database answers, so no server is needed.
@Suite struct RoutesTests {
    static let password = "Sup3r-S3cret-Pw"

    /// An exporter with a PostgreSQL target `down` (nothing listens on port 1) and a PgBouncer
    /// target `bouncer` (likewise), plus `extra`.
    static func exporter(extra: [TargetConfiguration] = [], maxRequests: Int = 40) throws -> Exporter {
        let down = TargetConfiguration(
            name: "down", kind: .postgres, connectionString: try ConnectionString("host=127.0.0.1 port=1 user=u password=\(password) dbname=d"))
        let bouncer = TargetConfiguration(
            name: "bouncer", kind: .pgbouncer, connectionString: try ConnectionString("host=127.0.0.1 port=1 user=u dbname=pgbouncer"))
        var configuration = ExporterConfiguration(targets: [down, bouncer] + extra)
        configuration.maxRequestsStartingWork = maxRequests
        return Exporter(configuration: configuration, logger: Logger(label: "test"))
    }

    /// Runs `body` against the routes of `exporter`, then shuts the exporter down.
    static func test(_ exporter: Exporter, users: [String: String] = [:], _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: HTTPRoutes.router(exporter: exporter, telemetryPath: "/metrics", basicAuthUsers: users))
        try await withCleanup {
            try await app.test(.router, body)
        } cleanup: {
            await exporter.shutdown()
        }
    }

    @Test func healthLandingAndUnknownPaths() async throws {
        try await Self.test(try Self.exporter()) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok\n")
            }
            try await client.execute(uri: "/no/such/page", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.contains("data-target=\"down\"") && page.contains("data-target=\"bouncer\""))
                #expect(!page.contains(Self.password) && !page.contains("127.0.0.1"))
            }
        }
    }

    @Test func metricsAreGzippedOnlyWhenTheScraperAcceptsIt() async throws {
        try await Self.test(try Self.exporter()) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(response.headers[.vary] == "Accept-Encoding")
                #expect(response.headers[.contentEncoding] == nil)
                #expect(text.contains("pg_up{target=\"down\"} 0") && text.contains("pgbouncer_up{target=\"bouncer\"} 0"))
                #expect(!text.contains(Self.password))
            }
            for (accept, gzipped) in [("gzip", true), ("deflate, gzip;q=0.5", true), ("*", true), ("gzip;q=0", false), ("identity", false), ("", false)] {
                try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: accept]) { response in
                    #expect(response.status == .ok)
                    #expect((response.headers[.contentEncoding] == "gzip") == gzipped, "Accept-Encoding: \(accept)")
                    let magic = Array(response.body.readableBytesView.prefix(2))
                    #expect((magic == [0x1f, 0x8b]) == gzipped, "Accept-Encoding: \(accept)")
                }
            }
        }
    }

    @Test func probeTakesOnlyTheNameOfAConfiguredTarget() async throws {
        try await Self.test(try Self.exporter()) { client in
            for (query, status) in [("", HTTPResponse.Status.badRequest), ("?target=", .badRequest), ("?target=nosuch", .notFound),
                                    ("?target=host%3D10.0.0.1%20port%3D5432", .badRequest), ("?target=down", .ok)] {
                try await client.execute(uri: "/probe" + query, method: .get) { response in
                    #expect(response.status == status, "/probe\(query)")
                    if status == .badRequest, query.contains("host") {
                        #expect(String(buffer: response.body).contains("refused"))
                    }
                    if status == .ok {
                        let text = String(buffer: response.body)
                        #expect(text.contains("pg_up{target=\"down\"} 0") && !text.contains("bouncer"))
                    }
                }
            }
        }
    }

    @Test func serviceDiscoveryListsEveryTargetForProbe() async throws {
        var labelled = TargetConfiguration(
            name: "db\"1", kind: .postgres, connectionString: try ConnectionString("host=127.0.0.1 port=1 user=u password=\(Self.password)"))
        labelled.labels = [("cluster", "main"), ("team", "ünïcode \"quoted\"")]
        labelled.inMetrics = false
        try await Self.test(try Self.exporter(extra: [labelled])) { client in
            try await client.execute(uri: "/sd", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(!String(buffer: response.body).contains(Self.password))
                let entries = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]])
                #expect(entries.count == 3)
                let all = entries.compactMap { $0["labels"] as? [String: String] }
                #expect(all.count == 3)
                for (entry, labels) in zip(entries, all) {
                    #expect(entry["targets"] as? [String] == ["localhost"])
                    #expect(labels["__metrics_path__"] == "/probe" && labels["__scheme__"] == "http")
                    #expect(labels["__param_target"] == labels["target"])
                }
                #expect(all.map { $0["target"] } == ["down", "bouncer", "db\"1"])
                #expect(all.map { $0["kind"] } == ["postgres", "pgbouncer", "postgres"])
                #expect(all[2]["cluster"] == "main" && all[2]["team"] == "ünïcode \"quoted\"")
                #expect(all[0]["cluster"] == nil)
            }
        }
    }

    @Test func roleChecksAnswerWithStatusAndRefuseBadParameters() async throws {
        try await Self.test(try Self.exporter()) { client in
            try await client.execute(uri: "/ready?target=down", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/json")
                #expect(!String(buffer: response.body).contains(Self.password))
            }
            for uri in ["/replica?target=down&max_lag=inf", "/replica?target=down&max_lag=-1s", "/primary?target=down&max_lag=1s", "/primary?target=bouncer"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                }
            }
        }
    }

    @Test func basicAuthGuardsEveryRoute() async throws {
        let users = ["prometheus": Bcrypt.hash("right", cost: 4)]
        let right = "Basic " + Data("prometheus:right".utf8).base64EncodedString()
        let wrong = "Basic " + Data("prometheus:wrong".utf8).base64EncodedString()
        let unknown = "Basic " + Data("nobody:right".utf8).base64EncodedString()
        try await Self.test(try Self.exporter(), users: users) { client in
            for uri in ["/metrics", "/healthz", "/", "/probe?target=down", "/ready?target=down"] {
                for header in [nil, wrong, unknown, "Basic !!!", "Bearer x"] {
                    let headers: HTTPFields = header.map { [.authorization: $0] } ?? [:]
                    try await client.execute(uri: uri, method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(uri) with \(header ?? "no header")")
                        #expect(response.headers[.wwwAuthenticate] == "Basic realm=\"pgstack_exporter\"")
                    }
                }
                try await client.execute(uri: uri, method: .get, headers: [.authorization: right]) { response in
                    #expect(response.status != .unauthorized, "\(uri)")
                }
            }
        }
    }

    /// `--web.max-requests 1`: while one target's collection waits on a server that never
    /// answers, a request for another target is refused with 503 and Retry-After, and a request
    /// that joins the running collection is not.
    @Test func theRequestLimitRefusesNewWorkButNotJoiners() async throws {
        let silent = try SilentServer()
        var limits = TargetLimits()
        limits.connectTimeout = .seconds(2)
        let slow = TargetConfiguration(
            name: "silent", kind: .postgres, connectionString: try ConnectionString("host=127.0.0.1 port=\(silent.port) user=u dbname=d"), limits: limits)
        try await withCleanup {
            try await Self.test(try Self.exporter(extra: [slow], maxRequests: 1)) { client in
                let first = Task { try await client.execute(uri: "/probe?target=silent", method: .get) { $0.status } }
                try await Task.sleep(for: .milliseconds(300))
                try await client.execute(uri: "/probe?target=down", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.retryAfter] == "1")
                }
                try await client.execute(uri: "/probe?target=silent", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("pg_up{target=\"silent\"} 0"))
                }
                #expect(try await first.value == .ok)
            }
        } cleanup: {
            silent.close()
        }
    }
}
