import Exporter
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdBcrypt
import HummingbirdTLS
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// TLS and basic auth from the `--web.config.file` (``WebConfiguration``), on every endpoint.
enum WebSecurity {
    /// The HTTP server: plain HTTP/1.1, or HTTP/1.1 over TLS. Certificates and keys are loaded
    /// here, at start-up, so a bad file stops the start with a clear error.
    static func server(_ web: WebConfiguration, file: String) throws -> HTTPServerBuilder {
        guard let tls = web.tls else { return .http1() }
        return try .tls(.http1(), tlsConfiguration: tlsConfiguration(tls, file: file))
    }

    static func tlsConfiguration(_ tls: WebConfiguration.TLS, file: String) throws -> TLSConfiguration {
        func load<T>(_ field: String, _ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch {
                throw ConfigurationError(file: file, field: "tls_server_config.\(field)", problem: "cannot be loaded: \(error)")
            }
        }
        let chain = try load("cert_file") { try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) } }
        let key = try load("key_file") { try NIOSSLPrivateKey(file: tls.privateKeyFile, format: .pem) }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tls.minimumVersion == "TLS13" ? .tlsv13 : .tlsv12
        if let clientCA = tls.clientCAFile {
            let roots = try load("client_ca_file") { try NIOSSLCertificate.fromPEMFile(clientCA) }
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification = tls.requireClientCertificate ? .noHostnameVerification : .none
        }
        return configuration
    }
}

/// Answers 401 unless the request carries the user name and password of one of the
/// configured users (bcrypt hashes). Verified credentials are remembered (a bounded set), so
/// that a scrape every few seconds does not pay for a bcrypt hash each time.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let users: [String: String]
    private let verified = VerifiedCredentials()

    init(users: [String: String]) {
        self.users = users
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], try await isAuthorised(header) else {
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"pgstack_exporter\""],
                body: .init(byteBuffer: ByteBuffer(string: "unauthorised\n")))
        }
        return try await next(request, context)
    }

    private func isAuthorised(_ header: String) async throws -> Bool {
        if verified.contains(header) { return true }
        guard header.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingWhitespace()),
              let credentials = String(data: decoded, encoding: .utf8),
              let colon = credentials.firstIndex(of: ":"),
              let hash = users[String(credentials[..<colon])] else { return false }
        let password = String(credentials[credentials.index(after: colon)...])
        // bcrypt is deliberately slow: keep it off the cooperative threads.
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        if matches { verified.insert(header) }
        return matches
    }

    /// `Authorization` values that passed, at most 64 (the oldest forgotten first).
    private final class VerifiedCredentials: Sendable {
        private let values = Mutex<[String]>([])

        func contains(_ value: String) -> Bool {
            values.withLock { $0.contains(value) }
        }

        func insert(_ value: String) {
            values.withLock { values in
                values.append(value)
                if values.count > 64 { values.removeFirst() }
            }
        }
    }
}
