import CompressNIO
import Exporter
import Exposition
import Hummingbird
import HTTPTypes
import Collectors
import NIOCore

/// The exporter's HTTP surface: `/metrics` (or the configured path), `/probe`, the role checks
/// `/ready`, `/primary` and `/replica`, `/sd`, the status page `/`, `/healthz`. Any other path is a 404.
///
/// `/probe` and the role checks take a target's *name* from the configuration and nothing else:
/// no address or DSN is ever accepted from a URL, so the exporter cannot be turned into a way
/// to reach other servers.
public enum HTTPRoutes {
    /// The paths the exporter serves besides the metrics, which `--web.telemetry-path` must not take.
    public static let builtInPaths: Set<String> = Set(["/", "/probe", "/healthz", "/-/reload", "/sd"] + RoleQuestion.allCases.map { "/" + $0.rawValue })

    /// - Parameters:
    ///   - reloader: serves `POST /-/reload` (`--web.enable-lifecycle`); `nil`: 403.
    ///   - scheme: how Prometheus reaches this exporter (`https` with TLS), for `/sd`.
    public static func router(
        exporter: Exporter, telemetryPath: String, basicAuthUsers: [String: String], reloader: ConfigurationReloader? = nil,
        scheme: String = "http"
    ) -> Router<BasicRequestContext> {
        let router = Router()
        if !basicAuthUsers.isEmpty {
            router.add(middleware: BasicAuthMiddleware(users: basicAuthUsers))
        }
        router.get(RouterPath(telemetryPath)) { request, _ -> Response in
            let budget = exporter.scrapeBudget(timeoutHeader: request.headers[.prometheusScrapeTimeout])
            return try metricsResponse(await exporter.scrape(budget: budget), acceptEncoding: request.headers[.acceptEncoding])
        }
        router.get("/probe") { request, _ -> Response in
            let name = try TargetParameter.name(in: request, exporter: exporter)
            let budget = exporter.scrapeBudget(timeoutHeader: request.headers[.prometheusScrapeTimeout])
            return try metricsResponse(await exporter.probe(target: name, budget: budget), acceptEncoding: request.headers[.acceptEncoding])
        }
        for question in RoleQuestion.allCases {
            router.get(RouterPath("/" + question.rawValue)) { request, _ -> Response in
                try await roleResponse(question, request: request, exporter: exporter)
            }
        }
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/-/reload", method: method) { _, _ -> Response in
                guard let reloader else {
                    return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "Lifecycle API is not enabled (--web.enable-lifecycle).\n")))
                }
                do throws(ConfigurationError) {
                    try await reloader.reload()
                    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "configuration reloaded\n")))
                } catch {
                    return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "reload failed: \(error.description)\n")))
                }
            }
        }
        router.get("/sd") { request, _ -> Response in
            guard let address = request.head.authority, !address.isEmpty else {
                throw HTTPError(.badRequest, message: "no Host header: /sd answers with the address it was asked at")
            }
            let body = ServiceDiscovery.json(targets: exporter.configuration.targets, exporterAddress: address, scheme: scheme)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/healthz") { _, _ in
            "ok\n"
        }
        router.get("/") { _, _ -> Response in
            let page = StatusPage.html(statuses: await exporter.status(), telemetryPath: telemetryPath)
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        return router
    }

    /// 200 when the target is fit for the role, 503 when not; a JSON line says why.
    static func roleResponse(_ question: RoleQuestion, request: Request, exporter: Exporter) async throws -> Response {
        let name = try TargetParameter.name(in: request, exporter: exporter)
        var maxLag: Duration?
        if let text = request.uri.queryParameters["max_lag"].map(String.init) {
            guard question == .replica, let duration = DurationText.parse(text) else {
                throw HTTPError(.badRequest, message: "max_lag takes a duration from 0s to 366d (e.g. 1s, 500ms), on /replica only")
            }
            maxLag = duration
        }
        if question != .ready, exporter.target(named: name)?.kind == .pgbouncer {
            throw HTTPError(.badRequest, message: "\(name) is a PgBouncer target: /\(question.rawValue) applies to PostgreSQL targets; use /ready")
        }
        guard let answer = await exporter.answer(question, target: name, maxLag: maxLag) else {
            throw HTTPError(.notFound)
        }
        return Response(
            status: answer.ok ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: answer.json)))
    }

    /// The scrape body, gzip-compressed when the scraper accepts it; 503 when the exporter
    /// refused to start the work (`nil`).
    static func metricsResponse(_ body: [UInt8]?, acceptEncoding: String?) throws -> Response {
        guard let body else {
            return Response(
                status: .serviceUnavailable, headers: [.retryAfter: "1"],
                body: .init(byteBuffer: ByteBuffer(string: "too many requests starting work at once; retry\n")))
        }
        var buffer = ByteBuffer(bytes: body)
        var headers: HTTPFields = [.contentType: TextEncoder.contentType, .vary: "Accept-Encoding"]
        if AcceptEncoding.allowsGzip(acceptEncoding) {
            buffer = try buffer.compress(with: .gzip())
            headers[.contentEncoding] = "gzip"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
    }
}

extension HTTPField.Name {
    /// Sent by Prometheus with every scrape: how long it will wait for the answer.
    static let prometheusScrapeTimeout = HTTPField.Name("X-Prometheus-Scrape-Timeout-Seconds")!
}

/// The `target` query parameter of `/probe` and the role checks: a configured target's name.
enum TargetParameter {
    static func name(in request: Request, exporter: Exporter) throws -> String {
        guard let value = request.uri.queryParameters["target"].map(String.init), !value.isEmpty else {
            throw HTTPError(.badRequest, message: "missing ?target=NAME (the name of a configured target)")
        }
        guard exporter.target(named: value) != nil else {
            let names = exporter.configuration.targets.map(\.name).joined(separator: ", ")
            if !TargetName.isValid(value) {
                throw HTTPError(.badRequest, message: "target must be the name of a configured target (\(names)); addresses and connection strings are refused")
            }
            throw HTTPError(.notFound, message: "no target named \"\(value)\"; configured: \(names)")
        }
        return value
    }
}

/// Reads `Accept-Encoding` (RFC 9110 §12.5.3), honouring `q=0`.
enum AcceptEncoding {
    static func allowsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        var gzip: Double?
        var wildcard: Double?
        for entry in header.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingWhitespace() }
            guard let coding = parts.first?.lowercased() else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if coding == "gzip" || coding == "x-gzip" { gzip = quality }
            if coding == "*" { wildcard = quality }
        }
        return (gzip ?? wildcard ?? 0) > 0
    }
}
