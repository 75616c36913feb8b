import Yams

/// The `--web.config.file`: TLS and basic auth for every endpoint, in the format of the
/// Prometheus exporter-toolkit, so operators can reuse the file of their other exporters:
///
/// ```yaml
/// tls_server_config:
///   cert_file: /etc/pgstack/server.crt
///   key_file: /etc/pgstack/server.key
///   client_ca_file: /etc/pgstack/ca.crt          # with a client_auth_type that verifies
///   client_auth_type: RequireAndVerifyClientCert # NoClientCert (default), RequestClientCert, VerifyClientCertIfGiven
///   min_version: TLS12                           # TLS10 … TLS13; max_version likewise
/// basic_auth_users:
///   prometheus: $2y$10$…                         # bcrypt hash (htpasswd -nBC 10 prometheus)
/// ```
///
/// A key this exporter does not implement is refused, never silently ignored.
public struct WebConfiguration: Sendable, Equatable {
    /// TLS settings; `nil` serves plain HTTP.
    public var tls: TLS?
    /// User name → bcrypt hash; empty means no authentication.
    public var basicAuthUsers: [String: String] = [:]

    public struct TLS: Sendable, Equatable {
        public var certificateFile: String
        public var privateKeyFile: String
        public var clientCAFile: String?
        public var clientAuth = ClientAuth.none
        /// `TLS10` … `TLS13`.
        public var minimumVersion = "TLS12"
        public var maximumVersion: String?
    }

    /// What the server asks of a client's certificate (exporter-toolkit's `client_auth_type`).
    public enum ClientAuth: String, Sendable, Equatable {
        /// `NoClientCert`, `RequestClientCert`: no certificate is needed (one offered is not used).
        case none
        /// `VerifyClientCertIfGiven`: a certificate offered must verify against the client CA.
        case verifyIfGiven
        /// `RequireAndVerifyClientCert`.
        case require
    }

    /// TLS versions by their exporter-toolkit names.
    public static let tlsVersions = ["TLS10", "TLS11", "TLS12", "TLS13"]
    /// The costliest bcrypt hash accepted: each check of a password costs 2^cost rounds, and
    /// a user's hash sets what an attacker can make the exporter spend per request.
    public static let maximumBcryptCost = 16

    public init() {}

    /// Reads and checks the file at `path`.
    /// - Throws: ``ConfigurationError`` naming the file, line and field, never a hash.
    public static func load(path: String) throws -> WebConfiguration {
        let text: String
        do {
            text = try SecretFile.read(path)
        } catch {
            throw ConfigurationError(file: path, field: "--web.config.file", problem: "\(error)")
        }
        try ConfigurationFile.checkAliases(text, file: path)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationFile.syntaxError(error, file: path)
        } catch {
            throw ConfigurationError(file: path, field: "YAML", problem: "the file cannot be read as YAML")
        }
        var configuration = WebConfiguration()
        guard let root else { return configuration }
        let reader = NodeReader(file: path)
        let top = try reader.mapping(root, path: "(top level)", allowed: ["tls_server_config", "basic_auth_users", "http_server_config"])
        if let node = top["tls_server_config"] {
            configuration.tls = try tls(node, reader)
        }
        if let node = top["http_server_config"] {
            try httpServer(node, reader)
        }
        if let node = top["basic_auth_users"] {
            guard let users = node.mapping else { throw reader.error(node, "basic_auth_users", "must be a mapping of user: bcrypt hash") }
            for (user, hash) in users {
                let name = try reader.string(user, path: "basic_auth_users")
                let value = try reader.string(hash, path: "basic_auth_users.\(name)")
                guard let cost = bcryptCost(value) else {
                    throw reader.error(hash, "basic_auth_users.\(name)", "is not a bcrypt hash (make one with htpasswd -nBC 10 \(name))")
                }
                guard cost <= maximumBcryptCost else {
                    throw reader.error(hash, "basic_auth_users.\(name)", "has bcrypt cost \(cost); at most \(maximumBcryptCost) is accepted (each check would take seconds)")
                }
                configuration.basicAuthUsers[name] = value
            }
        }
        return configuration
    }

    /// The cost of a well-formed bcrypt hash (`$2a$`, `$2b$` or `$2y$`, two-digit cost, 53
    /// characters of salt and hash), or `nil`.
    public static func bcryptCost(_ hash: String) -> Int? {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, hash.hasPrefix("$2"), ["a", "b", "y"].contains(Character(Unicode.Scalar(bytes[2]))),
              bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost) else { return nil }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return bytes[7...].allSatisfy(alphabet.contains) ? cost : nil
    }

    private static func tls(_ node: Node, _ reader: NodeReader) throws -> TLS {
        let path = "tls_server_config"
        let keys: Set<String> = ["cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version", "prefer_server_cipher_suites"]
        let unsupported: Set<String> = ["cipher_suites", "curve_preferences", "cert", "key", "client_allowed_sans"]
        for key in node.mapping?.keys.compactMap(\.string) ?? [] where unsupported.contains(key) {
            throw reader.error(node, "\(path).\(key)", "is not supported by this exporter; remove it (the TLS library's defaults apply)")
        }
        let mapping = try reader.mapping(node, path: path, allowed: keys)
        guard let cert = mapping["cert_file"], let key = mapping["key_file"] else {
            throw reader.error(node, path, "needs cert_file and key_file")
        }
        var tls = TLS(certificateFile: try reader.string(cert, path: "\(path).cert_file"), privateKeyFile: try reader.string(key, path: "\(path).key_file"))
        if let node = mapping["client_ca_file"] { tls.clientCAFile = try reader.string(node, path: "\(path).client_ca_file") }
        if let node = mapping["client_auth_type"] {
            switch try reader.string(node, path: "\(path).client_auth_type") {
            case "NoClientCert", "RequestClientCert": tls.clientAuth = .none
            case "VerifyClientCertIfGiven": tls.clientAuth = .verifyIfGiven
            case "RequireAndVerifyClientCert": tls.clientAuth = .require
            case "RequireAnyClientCert":
                throw reader.error(node, "\(path).client_auth_type", "RequireAnyClientCert (a certificate required but not verified) is not supported; use RequireAndVerifyClientCert")
            case let other:
                throw reader.error(node, "\(path).client_auth_type", "\(ShownValue.quoted(other)) is not one of NoClientCert, RequestClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert")
            }
        }
        // As exporter-toolkit: a client CA needs a policy that uses it, and such a policy needs a CA.
        if tls.clientCAFile != nil && tls.clientAuth == .none {
            throw reader.error(mapping["client_ca_file"] ?? node, "\(path).client_ca_file", "is set but client_auth_type does not verify client certificates; set client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven)")
        }
        if tls.clientAuth != .none && tls.clientCAFile == nil {
            throw reader.error(node, "\(path).client_ca_file", "is needed with client_auth_type \(tls.clientAuth == .require ? "RequireAndVerifyClientCert" : "VerifyClientCertIfGiven")")
        }
        func version(_ key: String) throws -> String? {
            guard let node = mapping[key] else { return nil }
            let version = try reader.string(node, path: "\(path).\(key)")
            guard tlsVersions.contains(version) else {
                throw reader.error(node, "\(path).\(key)", "\(ShownValue.quoted(version)) is not one of \(tlsVersions.joined(separator: ", "))")
            }
            return version
        }
        tls.minimumVersion = try version("min_version") ?? tls.minimumVersion
        tls.maximumVersion = try version("max_version")
        if let maximum = tls.maximumVersion, maximum < tls.minimumVersion {  // the names sort as the versions do
            throw reader.error(node, "\(path).max_version", "\(maximum) is below min_version \(tls.minimumVersion)")
        }
        if let node = mapping["prefer_server_cipher_suites"] {
            _ = try reader.boolean(node, path: "\(path).prefer_server_cipher_suites")  // ignored, as Go has done since 1.18
        }
        return tls
    }

    /// `http_server_config`: only `http2: false` (this exporter serves HTTP/1.1); `headers`
    /// and the rest are refused.
    private static func httpServer(_ node: Node, _ reader: NodeReader) throws {
        let path = "http_server_config"
        let mapping = try reader.mapping(node, path: path, allowed: ["http2"])
        if let node = mapping["http2"], try reader.boolean(node, path: "\(path).http2") {
            throw reader.error(node, "\(path).http2", "HTTP/2 is not supported; this exporter serves HTTP/1.1 (set false or remove)")
        }
    }
}
