import Yams

/// The `--web.config.file`: TLS and basic auth for every endpoint, in the format of the
/// Prometheus exporter-toolkit, so operators can reuse the file of their other exporters:
///
/// ```yaml
/// tls_server_config:
///   cert_file: /etc/pgstack/server.crt
///   key_file: /etc/pgstack/server.key
///   client_ca_file: /etc/pgstack/ca.crt          # optional
///   client_auth_type: RequireAndVerifyClientCert # or NoClientCert (default)
///   min_version: TLS12                           # or TLS13
/// basic_auth_users:
///   prometheus: $2y$10$…                         # bcrypt hash (htpasswd -nBC 10 prometheus)
/// ```
public struct WebConfiguration: Sendable, Equatable {
    /// TLS settings; `nil` serves plain HTTP.
    public var tls: TLS?
    /// User name → bcrypt hash; empty means no authentication.
    public var basicAuthUsers: [String: String] = [:]

    public struct TLS: Sendable, Equatable {
        public var certificateFile: String
        public var privateKeyFile: String
        public var clientCAFile: String?
        /// Whether clients must present a certificate signed by `clientCAFile`.
        public var requireClientCertificate = false
        /// `TLS12` or `TLS13`.
        public var minimumVersion = "TLS12"
    }

    public init() {}

    /// Reads and checks the file at `path`.
    /// - Throws: ``ConfigurationError`` naming the file, line and field.
    public static func load(path: String) throws -> WebConfiguration {
        let text: String
        do {
            text = try SecretFile.read(path)
        } catch {
            throw ConfigurationError(file: path, field: "--web.config.file", problem: "cannot read the file: \(error)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationFile.syntaxError(error, file: path)
        }
        var configuration = WebConfiguration()
        guard let root else { return configuration }
        let reader = NodeReader(file: path)
        let top = try reader.mapping(root, path: "(top level)", allowed: ["tls_server_config", "basic_auth_users", "http_server_config"])
        if let node = top["tls_server_config"] {
            configuration.tls = try tls(node, reader)
        }
        if let node = top["basic_auth_users"] {
            guard let users = node.mapping else { throw reader.error(node, "basic_auth_users", "must be a mapping of user: bcrypt hash") }
            for (user, hash) in users {
                let name = try reader.string(user, path: "basic_auth_users")
                let value = try reader.string(hash, path: "basic_auth_users.\(name)")
                guard ["$2a$", "$2b$", "$2y$"].contains(where: value.hasPrefix) else {
                    throw reader.error(hash, "basic_auth_users.\(name)", "is not a bcrypt hash (make one with htpasswd -nBC 10 \(name))")
                }
                configuration.basicAuthUsers[name] = value
            }
        }
        return configuration
    }

    private static func tls(_ node: Node, _ reader: NodeReader) throws -> TLS {
        let path = "tls_server_config"
        let keys: Set<String> = ["cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites"]
        let mapping = try reader.mapping(node, path: path, allowed: keys)
        guard let cert = mapping["cert_file"], let key = mapping["key_file"] else {
            throw reader.error(node, path, "needs cert_file and key_file")
        }
        var tls = TLS(certificateFile: try reader.string(cert, path: "\(path).cert_file"), privateKeyFile: try reader.string(key, path: "\(path).key_file"))
        if let node = mapping["client_ca_file"] { tls.clientCAFile = try reader.string(node, path: "\(path).client_ca_file") }
        if let node = mapping["client_auth_type"] {
            switch try reader.string(node, path: "\(path).client_auth_type") {
            case "NoClientCert": tls.requireClientCertificate = false
            case "RequireAndVerifyClientCert": tls.requireClientCertificate = true
            case let other: throw reader.error(node, "\(path).client_auth_type", "\"\(other)\" is not supported; use NoClientCert or RequireAndVerifyClientCert")
            }
        }
        if tls.requireClientCertificate && tls.clientCAFile == nil {
            throw reader.error(node, "\(path).client_ca_file", "is needed with client_auth_type RequireAndVerifyClientCert")
        }
        if let node = mapping["min_version"] {
            let version = try reader.string(node, path: "\(path).min_version")
            guard ["TLS12", "TLS13"].contains(version) else { throw reader.error(node, "\(path).min_version", "\"\(version)\" is not TLS12 or TLS13") }
            tls.minimumVersion = version
        }
        return tls
    }
}
