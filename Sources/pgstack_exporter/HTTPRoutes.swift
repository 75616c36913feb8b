import CompressNIO
import Exporter
import Exposition
import Hummingbird
import HTTPTypes
import Collectors
import NIOCore
import Synchronization

/// The exporter's HTTP surface: `/metrics` (or the configured path), `/`, `/healthz`. Any
/// other path is a 404.
enum HTTPRoutes {
    static func router(exporter: Exporter, telemetryPath: String, maxRequestsInFlight: Int) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: InFlightLimitMiddleware(limit: maxRequestsInFlight))
        router.get(RouterPath(telemetryPath)) { request, _ -> Response in
            let budget = exporter.scrapeBudget(timeoutHeader: request.headers[.prometheusScrapeTimeout])
            let body = await exporter.scrape(budget: budget)
            return try metricsResponse(body, acceptEncoding: request.headers[.acceptEncoding])
        }
        router.get("/healthz") { _, _ in
            "ok\n"
        }
        router.get("/") { _, _ -> Response in
            let page = LandingPage.html(targets: exporter.configuration.targets, telemetryPath: telemetryPath)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        return router
    }

    /// The scrape body, gzip-compressed when the scraper accepts it.
    static func metricsResponse(_ body: [UInt8], acceptEncoding: String?) throws -> Response {
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

/// Answers 503 instead of queueing once too many requests are being served, so a storm of
/// scrapes cannot pile up work in the exporter.
struct InFlightLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int
    private let inFlight = Counter()

    init(limit: Int) {
        self.limit = limit
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard inFlight.enter(limit: limit) else {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "too many requests in flight\n")))
        }
        defer { inFlight.leave() }
        return try await next(request, context)
    }

    private final class Counter: Sendable {
        private let value = Atomic(0)

        func enter(limit: Int) -> Bool {
            if value.wrappingAdd(1, ordering: .relaxed).newValue > limit {
                value.wrappingSubtract(1, ordering: .relaxed)
                return false
            }
            return true
        }

        func leave() {
            value.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}

/// The page at `/`: what this exporter watches and where its metrics are. Names and kinds
/// only: never a host, a DSN or a password.
enum LandingPage {
    static func html(targets: [TargetConfiguration], telemetryPath: String) -> String {
        let rows = targets.map { "<li>\(escape($0.name)) (\($0.kind.rawValue)): \($0.collectors.map(\.name).joined(separator: ", "))</li>" }
        return """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>pgstack_exporter</title></head>
            <body>
            <h1>pgstack_exporter \(BuildInfo.version)</h1>
            <p>Prometheus exporter for PostgreSQL and PgBouncer.</p>
            <p><a href="\(escape(telemetryPath))">Metrics</a> · <a href="/healthz">Health</a></p>
            <h2>Targets</h2>
            <ul>
            \(rows.joined(separator: "\n"))
            </ul>
            </body></html>

            """
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
