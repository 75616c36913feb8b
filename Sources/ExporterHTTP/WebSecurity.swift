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
import NIOConcurrencyHelpers

/// TLS and basic auth from the `--web.config.file` (``WebConfiguration``), on every endpoint.
public enum WebSecurity {
    /// The HTTP server: plain HTTP/1.1, or HTTP/1.1 over TLS. Certificates and keys are loaded
    /// here, at start-up, so a bad file stops the start with a clear error.
    public static func server(_ web: WebConfiguration, file: String, http: HTTP1Channel.Configuration) throws -> HTTPServerBuilder {
        guard let tls = web.tls else { return .http1(configuration: http) }
        return try .tls(.http1(configuration: http), tlsConfiguration: tlsConfiguration(tls, file: file))
    }

    static func tlsConfiguration(_ tls: WebConfiguration.TLS, file: String) throws -> TLSConfiguration {
        func load<T>(_ field: String, _ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch {
                throw ConfigurationError(file: file, field: "tls_server_config.\(field)", problem: "cannot be loaded: \(error)")
            }
        }
        let chain = try load("cert_file") {
            try SecretFile.requireRegularFile(tls.certificateFile)
            return try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        }
        let key = try load("key_file") {
            try SecretFile.requireRegularFile(tls.privateKeyFile)
            return try NIOSSLPrivateKey(file: tls.privateKeyFile, format: .pem)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = version(tls.minimumVersion)
        configuration.maximumTLSVersion = tls.maximumVersion.map(version)
        if let clientCA = tls.clientCAFile {
            let roots = try load("client_ca_file") {
                try SecretFile.requireRegularFile(clientCA)
                return try NIOSSLCertificate.fromPEMFile(clientCA)
            }
            configuration.trustRoots = .certificates(roots)
        }
        switch tls.clientAuth {
        case .none: configuration.certificateVerification = .none
        case .verifyIfGiven: configuration.certificateVerification = .optionalVerification
        case .require: configuration.certificateVerification = .noHostnameVerification
        }
        // A context is what the server would make for its first connection: making one here
        // catches a key that does not belong to the certificate at start, not at first scrape.
        _ = try load("key_file") {
            do {
                return try NIOSSLContext(configuration: configuration)
            } catch {
                throw KeyMismatch(description: "does not match cert_file, or the pair is unusable (\(error))")
            }
        }
        return configuration
    }

    private struct KeyMismatch: Error, CustomStringConvertible {
        let description: String
    }

    private static func version(_ name: String) -> TLSVersion {
        switch name {
        case "TLS10": .tlsv1
        case "TLS11": .tlsv11
        case "TLS13": .tlsv13
        default: .tlsv12
        }
    }
}

/// Answers 401 unless the request carries the user name and password of one of the
/// configured users (bcrypt hashes), as exporter-toolkit does:
/// - `$2a$`, `$2b$` and `$2y$` hashes (the last is what `htpasswd -B` writes; the same
///   algorithm, so it is checked as `$2b$`);
/// - an unknown user is checked against a dummy hash of the same cost, so that a wrong user
///   name costs what a wrong password does and names cannot be probed by timing;
/// - credentials that passed are remembered (a bounded set), so a scrape every few seconds
///   does not pay for a bcrypt hash each time;
/// - at most two bcrypt checks run at once; a request beyond that gets
///   429 at once, so a flood of wrong passwords costs at most those threads and never delays
///   a scrape whose credentials are remembered.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    /// User name → hash, with `$2y$` written as `$2b$`.
    let users: [String: String]
    /// Checked for an unknown user.
    let dummyHash: String
    private let verified = VerifiedCredentials()
    private let checks = ConcurrencyLimit(limit: 2)

    init(users: [String: String]) {
        self.users = users.mapValues(Self.checkable)
        let cost = users.values.compactMap(WebConfiguration.bcryptCost).max() ?? 10
        dummyHash = Bcrypt.hash(String(UInt64.random(in: .min ... .max)), cost: UInt8(clamping: cost))
    }

    /// A hash as the bcrypt library checks it: `$2y$` is `$2b$` under another name.
    static func checkable(_ hash: String) -> String {
        hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        switch await check(header) {
        case .allowed:
            return try await next(request, context)
        case .busy:
            return Response(
                status: .tooManyRequests, headers: [.retryAfter: "1"],
                body: .init(byteBuffer: ByteBuffer(string: "too many password checks at once; retry\n")))
        case .denied:
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"pgstack_exporter\""],
                body: .init(byteBuffer: ByteBuffer(string: "unauthorised\n")))
        }
    }

    private enum Verdict { case allowed, denied, busy }

    private func check(_ header: String) async -> Verdict {
        guard header.utf8.count <= 4096 else { return .denied }
        if verified.contains(header) { return .allowed }
        guard header.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingWhitespace()),
              let credentials = String(data: decoded, encoding: .utf8),
              let colon = credentials.firstIndex(of: ":") else { return .denied }
        let user = String(credentials[..<colon])
        let password = String(credentials[credentials.index(after: colon)...])
        let hash = users[user]
        guard checks.tryEnter() else { return .busy }
        defer { checks.leave() }
        // bcrypt is deliberately slow: keep it off the cooperative threads.
        let matches = (try? await NIOThreadPool.singleton.runIfActive { [dummyHash] in
            Bcrypt.verify(password, hash: hash ?? dummyHash) && hash != nil
        }) ?? false
        if matches { verified.insert(header) }
        return matches ? .allowed : .denied
    }

    /// `Authorization` values that passed, at most 64 (the oldest forgotten first).
    private final class VerifiedCredentials: Sendable {
        private let values = NIOLockedValueBox<[String]>([])

        func contains(_ value: String) -> Bool {
            values.withLockedValue { $0.contains(value) }
        }

        func insert(_ value: String) {
            values.withLockedValue { values in
                values.append(value)
                if values.count > 64 { values.removeFirst() }
            }
        }
    }
}
