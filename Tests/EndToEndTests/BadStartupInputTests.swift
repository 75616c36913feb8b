import Foundation
import Testing
import TestSupport

/// Hostile input at start-up, against the built binary: flags, environment variables, config
/// files, DSNs and web configs. Each case must end the start with its exit code and a message
/// that names the setting, within seconds, and no secret of the case may show in what the
/// process printed.
@Suite struct BadStartupInputTests {
    /// One start of the binary with bad input.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        var arguments: [String] = []
        var environment: [String: String] = [:]
        /// Files written before the start: name → content; `{dir}` in arguments, environment
        /// and content stands for the case's directory.
        var files: [String: String] = [:]
        /// Files written as bytes (not text).
        var rawFiles: [String: [UInt8]] = [:]
        /// FIFOs made in the case's directory (opening one for reading blocks).
        var fifos: [String] = []
        var exitCode: Int32 = 2
        /// Must appear in standard output or error.
        let message: String
        /// Must not appear anywhere in the output.
        var secrets: [String] = []

        var testDescription: String { name }
    }

    static let secret = "Sup3r-S3cret-Pw"
    static let config = "--config.file"

    /// A config file with one good target and `extra` lines in its defaults.
    static func configWith(defaults extra: String) -> String {
        """
        defaults:
        \(extra)
        targets:
          - name: primary
            kind: postgres
            dsn: "host=127.0.0.1 port=1 user=u password=\(secret)"
        """
    }

    /// Nine anchors, each a list of nine aliases of the one before ("billion laughs"), and a
    /// target whose key is the last: expanding it would take hours.
    static let laughs: String = {
        var text = "a0: &a0 [x]\n"
        for level in 1...9 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        return text + "targets: [ { ? *a9 : 1 } ]\n"
    }()

    static let cases: [Case] = [
        // Durations: each flag, each kind of garbage.
        Case(name: "scrape timeout inf", arguments: ["--scrape.timeout", "inf"], message: "--scrape.timeout"),
        Case(name: "scrape timeout nan", arguments: ["--scrape.timeout", "nan"], message: "--scrape.timeout"),
        Case(name: "scrape timeout 1e16", arguments: ["--scrape.timeout", "1e16"], message: "between 1ms and 366 days"),
        Case(name: "collector timeout huge hours", arguments: ["--collector.timeout", "99999999999999999h"], message: "--collector.timeout"),
        Case(name: "scrape timeout zero", arguments: ["--scrape.timeout", "0s"], message: "longer than zero"),
        Case(name: "scrape timeout negative", arguments: ["--scrape.timeout=-1s"], message: "must not be negative"),
        Case(name: "scrape timeout empty", arguments: ["--scrape.timeout="], exitCode: 64, message: "--scrape.timeout"),
        Case(name: "scrape timeout full-width digits", arguments: ["--scrape.timeout", "５s"], message: "--scrape.timeout"),
        Case(name: "timeout offset unit unknown", arguments: ["--scrape.timeout-offset", "5y"], message: "--scrape.timeout-offset"),
        Case(name: "connect timeout from env", environment: ["PGSTACK_TARGET_CONNECT_TIMEOUT": "-inf"], message: "PGSTACK_TARGET_CONNECT_TIMEOUT"),
        Case(name: "lifecycle from env not a boolean", environment: ["PGSTACK_WEB_ENABLE_LIFECYCLE": "maybe\u{202E}"], message: "PGSTACK_WEB_ENABLE_LIFECYCLE"),
        Case(name: "idle timeout inf", arguments: ["--web.idle-timeout", "inf"], message: "--web.idle-timeout"),
        // Whole numbers.
        Case(name: "max connections zero", arguments: ["--target.max-connections", "0"], message: "out of range (1 to 100)"),
        Case(name: "max connections Int.max", arguments: ["--target.max-connections", "9223372036854775807"], message: "out of range"),
        Case(name: "max connections past Int64", arguments: ["--target.max-connections", "99999999999999999999999"], message: "out of range"),
        Case(name: "max connections negative", arguments: ["--target.max-connections=-1"], message: "--target.max-connections"),
        Case(name: "max requests text", arguments: ["--web.max-requests", "many"], message: "is not a whole number"),
        Case(name: "max HTTP connections zero", arguments: ["--web.max-connections", "0"], message: "--web.max-connections"),
        // Paths and addresses.
        Case(name: "telemetry path on /healthz", arguments: ["--web.telemetry-path", "/healthz"], message: "taken by a built-in endpoint"),
        Case(name: "telemetry path on /probe", arguments: ["--web.telemetry-path", "/probe"], message: "taken by a built-in endpoint"),
        Case(name: "telemetry path without slash", arguments: ["--web.telemetry-path", "metrics"], message: "must start with /"),
        Case(name: "telemetry path with space", arguments: ["--web.telemetry-path", "/a b"], message: "plain path"),
        Case(name: "telemetry path with route parameter", arguments: ["--web.telemetry-path", "/{x}"], message: "plain path"),
        Case(name: "listen port out of range", arguments: ["--web.listen-address", "127.0.0.1:99999"], message: "--web.listen-address"),
        Case(name: "listen address garbage", arguments: ["--web.listen-address", "nowhere"], message: "--web.listen-address"),
        Case(name: "log level unknown", arguments: ["--log.level", "loud"], message: "--log.level"),
        Case(name: "log format unknown", arguments: ["--log.format", "xml"], message: "--log.format"),
        Case(name: "collector unknown", arguments: ["--collector.disable", "wal,bogus"], message: "no collector"),
        // DSNs.
        Case(name: "URI password with @", environment: ["DATA_SOURCE_NAME": "postgresql://u:Sup3r@S3cret-Pw@db.example/postgres"],
             message: "percent-encode", secrets: ["Sup3r@S3cret-Pw", "S3cret-Pw@db"]),
        Case(name: "URI password with /", environment: ["DATA_SOURCE_NAME": "postgresql://u:Sup3r/S3cret-Pw@db.example/postgres"],
             message: "percent-encode", secrets: ["Sup3r/S3cret-Pw", "S3cret-Pw@db"]),
        Case(name: "key=value with unterminated quote", environment: ["DATA_SOURCE_NAME": "host=db password='\(secret)"],
             message: "--dsn", secrets: [secret]),
        Case(name: "key=value with a stray word after an sslpassword", environment: ["DATA_SOURCE_NAME": "host=db sslpassword=\(secret) \(secret)"],
             message: "invalid connection string", secrets: [secret]),
        Case(name: "unknown DSN keyword", environment: ["DATA_SOURCE_NAME": "host=db passwd=\(secret)"],
             message: "invalid connection string", secrets: [secret]),
        Case(name: "PgBouncer DSN not on the console", environment: ["PGBOUNCER_DSN": "host=db dbname=postgres password=\(secret)"],
             message: "dbname=pgbouncer", secrets: [secret]),
        Case(name: "DSN file missing", environment: ["DATA_SOURCE_NAME_FILE": "{dir}/missing.dsn"], message: "DATA_SOURCE_NAME_FILE"),
        Case(name: "no target at all", message: "none given"),
        Case(name: "targets twice", arguments: [config, "{dir}/c.yml"], environment: ["DATA_SOURCE_NAME": "host=db password=\(secret)"],
             files: ["c.yml": configWith(defaults: "  lock_timeout: 1s")], message: "not both", secrets: [secret]),
        // Config files.
        Case(name: "config file missing", arguments: [config, "{dir}/none.yml"], message: "--config.file"),
        Case(name: "config file is /dev/zero", arguments: [config, "/dev/zero"], message: "not a regular file"),
        Case(name: "config file is a FIFO", arguments: [config, "{dir}/fifo"], fifos: ["fifo"], message: "not a regular file"),
        Case(name: "DSN file is a FIFO", environment: ["DATA_SOURCE_NAME_FILE": "{dir}/fifo"], fifos: ["fifo"], message: "not a regular file"),
        Case(name: "config file is a directory", arguments: [config, "{dir}"], message: "a directory"),
        Case(name: "web config certificate is a FIFO", arguments: ["--web.config.file", "{dir}/w.yml"], environment: ["DATA_SOURCE_NAME": "host=db"],
             files: ["w.yml": "tls_server_config:\n  cert_file: {dir}/fifo\n  key_file: {dir}/key.pem\n"], fifos: ["fifo"], message: "not a regular file"),
        Case(name: "telemetry path /probe/ after normalising", arguments: ["--web.telemetry-path", "/probe/"], message: "taken by a built-in endpoint"),
        Case(name: "telemetry path with a dot part", arguments: ["--web.telemetry-path", "/./probe"], message: "must not hold"),
        Case(name: "percent-encoding error with a quote in the password", environment: ["DATA_SOURCE_NAME": "postgresql://mon:ab%zz\"TAILSECRET@db/x"],
             message: "invalid connection string", secrets: ["TAILSECRET"]),
        Case(name: "secret as the database name", arguments: ["--config.check"],
             environment: ["DATA_SOURCE_NAME": "dbname=postgresql://mon:Hunter2secret@db/postgres host=127.0.0.1 port=1"], exitCode: 0, message: "configuration OK", secrets: ["Hunter2secret"]),
        Case(name: "a one-character password", arguments: ["--config.check"],
             environment: ["DATA_SOURCE_NAME": "host=127.0.0.1 port=1 user=mon password=1"], exitCode: 0, message: "(not shown)"),
        Case(name: "a NUL byte in a DSN from the config", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "targets:\n  - name: p\n    kind: postgres\n    dsn: \"host=127.0.0.1\\0password=\(secret)\"\n"], message: "NUL", secrets: [secret]),
        Case(name: "billion laughs", arguments: [config, "{dir}/c.yml"], files: ["c.yml": laughs], message: "aliases"),
        Case(name: "billion laughs in the web config", arguments: ["--web.config.file", "{dir}/w.yml"], environment: ["DATA_SOURCE_NAME": "host=db"],
             files: ["w.yml": laughs], message: "aliases"),
        Case(name: "an empty collector list", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "targets:\n  - name: p\n    kind: postgres\n    dsn: \"host=db\"\n    collectors: []\n"], message: "collectors"),
        Case(name: "config file not UTF-8", arguments: [config, "{dir}/c.yml"], rawFiles: ["c.yml": Array("targets: ".utf8) + [0xFF, 0xFE, 0x0A]], message: "not UTF-8"),
        Case(name: "config key written twice", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": configWith(defaults: "  lock_timeout: 1s\n  lock_timeout: 2s")],
             message: "key written more than once", secrets: [secret]),
        Case(name: "config syntax error on a password line", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "targets:\n  - name: p\n    dsn: \"password=\(secret)\n  bad: [\n"], message: "c.yml:", secrets: [secret]),
        Case(name: "config tab indentation", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "targets:\n\t- name: p\n\t  dsn: password=\(secret)\n"], message: "c.yml:", secrets: [secret]),
        Case(name: "config unknown key", arguments: [config, "{dir}/c.yml"], files: ["c.yml": configWith(defaults: "  lock_timout: 1s")],
             message: "lock_timout", secrets: [secret]),
        Case(name: "config timeout .inf", arguments: [config, "{dir}/c.yml"], files: ["c.yml": configWith(defaults: "  collector_timeout: .inf")],
             message: "defaults.collector_timeout", secrets: [secret]),
        Case(name: "config max connections huge", arguments: [config, "{dir}/c.yml"], files: ["c.yml": configWith(defaults: "  max_connections: 1e9")],
             message: "defaults.max_connections", secrets: [secret]),
        Case(name: "config top N negative", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": configWith(defaults: "  options:\n    statements_top_n: -5")], message: "statements_top_n", secrets: [secret]),
        Case(name: "config target name with unicode", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "targets:\n  - name: \"prïmary\"\n    kind: postgres\n    dsn: \"password=\(secret)\"\n"], message: "name", secrets: [secret]),
        Case(name: "config URI DSN with @ in the password", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "targets:\n  - name: p\n    kind: postgres\n    dsn: \"postgresql://u:Sup3r@S3cret-Pw@db/x\"\n"],
             message: "percent-encode", secrets: ["Sup3r@S3cret-Pw", "S3cret-Pw@db"]),
        Case(name: "config DSN folded into the kind", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "targets:\n  - name: p\n    kind:\n      postgres dsn=host=db password=\(secret)\n"], message: "not shown", secrets: [secret]),
        Case(name: "config key that names a password", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": "password=\(secret): 1\ntargets: []\n"], message: "unknown setting", secrets: [secret]),
        // Web configs.
        Case(name: "web config unsupported cipher_suites", arguments: ["--web.config.file", "{dir}/w.yml"],
             files: ["w.yml": "tls_server_config:\n  cert_file: {dir}/cert.pem\n  key_file: {dir}/key.pem\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"],
             message: "cipher_suites"),
        Case(name: "web config client CA without an auth type", arguments: ["--web.config.file", "{dir}/w.yml"],
             files: ["w.yml": "tls_server_config:\n  cert_file: {dir}/cert.pem\n  key_file: {dir}/key.pem\n  client_ca_file: {dir}/cert.pem\n"],
             message: "client_auth_type"),
        Case(name: "web config key of another certificate", arguments: ["--web.config.file", "{dir}/w.yml"],
             files: ["w.yml": "tls_server_config:\n  cert_file: {dir}/cert.pem\n  key_file: {dir}/other-key.pem\n"],
             message: "does not match cert_file"),
        Case(name: "web config not a bcrypt hash", arguments: ["--web.config.file", "{dir}/w.yml"],
             files: ["w.yml": "basic_auth_users:\n  prometheus: \(secret)\n"], message: "is not a bcrypt hash", secrets: [secret]),
        Case(name: "web config bcrypt cost 31", arguments: ["--web.config.file", "{dir}/w.yml"],
             files: ["w.yml": "basic_auth_users:\n  prometheus: $2y$31$L4rfYMpi/oSk70iDBYDXuuyHUa7gsP0ahgOEUSwED6g77TmW0BmnG\n"], message: "cost 31"),
        Case(name: "web config http headers", arguments: ["--web.config.file", "{dir}/w.yml"],
             files: ["w.yml": "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"], message: "http_server_config.headers"),
        Case(name: "web config TLS version unknown", arguments: ["--web.config.file", "{dir}/w.yml"],
             files: ["w.yml": "tls_server_config:\n  cert_file: {dir}/cert.pem\n  key_file: {dir}/key.pem\n  min_version: SSL3\n"], message: "min_version"),
        // Custom queries: queries.yaml and custom_queries:.
        Case(name: "queries file missing", arguments: ["--extend.query-path", "{dir}/none.yaml"],
             environment: ["DATA_SOURCE_NAME": "host=127.0.0.1 port=1 user=u password=\(secret)"],
             message: "--extend.query-path (PG_EXPORTER_EXTEND_QUERY_PATH)", secrets: [secret]),
        Case(name: "queries file histogram", arguments: ["--dsn", "host=127.0.0.1 port=1 password=\(secret)"],
             environment: ["PG_EXPORTER_EXTEND_QUERY_PATH": "{dir}/q.yaml"],
             files: ["q.yaml": "pg_h:\n  query: SELECT 1\n  metrics:\n    - h: {usage: HISTOGRAM}\n"], message: "q.yaml:4:", secrets: [secret]),
        Case(name: "queries file with a duplicated entry", arguments: ["--extend.query-path", "{dir}/q.yaml", "--dsn", "host=127.0.0.1 port=1"],
             files: ["q.yaml": "pg_a:\n  query: SELECT 1 AS x\n  metrics: [{x: {usage: GAUGE}}]\npg_a:\n  query: SELECT 2 AS x\n  metrics: [{x: {usage: GAUGE}}]\n"],
             message: "key written more than once"),
        Case(name: "queries file that is a FIFO", arguments: ["--extend.query-path", "{dir}/q.fifo", "--dsn", "host=127.0.0.1 port=1"],
             fifos: ["q.fifo"], message: "not a regular file"),
        Case(name: "queries file with a unicode metric name", arguments: ["--extend.query-path", "{dir}/q.yaml", "--dsn", "host=127.0.0.1 port=1"],
             files: ["q.yaml": "pg_ünï:\n  query: SELECT 1 AS x\n  metrics: [{x: {usage: GAUGE}}]\n"], message: "is not a metric name prefix"),
        Case(name: "custom query with an infinite cache", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": configWith(defaults: "  custom_queries:\n    - {name: pg_c, cache: inf, query: SELECT 1 AS x, metrics: [{x: {usage: GAUGE}}]}")],
             message: "defaults.custom_queries[0].cache", secrets: [secret]),
        Case(name: "custom query with a negative version", arguments: [config, "{dir}/c.yml"],
             files: ["c.yml": configWith(defaults: "  custom_queries:\n    - {name: pg_c, query: {\"-15\": SELECT 1 AS x}, metrics: [{x: {usage: GAUGE}}]}")],
             message: "is not a server version", secrets: [secret]),
        // A good configuration checked: it passes, and still shows no secret.
        Case(name: "config check of an inline password", arguments: ["--config.check"],
             environment: ["DATA_SOURCE_NAME": "host=127.0.0.1 port=1 user=u password=\(secret) sslpassword=\(secret)x"],
             exitCode: 0, message: "configuration OK", secrets: [secret]),
        Case(name: "config check of a percent-encoded URI", arguments: ["--config.check"],
             environment: ["DATA_SOURCE_NAME": "postgresql://u:Sup3r%40S3cret-Pw@127.0.0.1:1/postgres"],
             exitCode: 0, message: "127.0.0.1:1", secrets: ["Sup3r@S3cret-Pw", "Sup3r%40S3cret-Pw", "S3cret-Pw"]),
    ]

    /// The directory every case's files go to, with a certificate, its key and another key.
    static let directory: String = {
        let path = NSTemporaryDirectory() + "pgstack-bad-input-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func makeKeys() async throws {
        guard !FileManager.default.fileExists(atPath: directory + "/other-key.pem") else { return }
        try await Command.check("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
        ])
        try await Command.check("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", directory + "/other-key.pem"])
    }

    @Test func thereAreAtLeastFortyCases() {
        #expect(Self.cases.count >= 47)
        #expect(Set(Self.cases.map(\.name)).count == Self.cases.count)
    }

    @Test(arguments: cases)
    func aBadStartEndsCleanlyAndShowsNoSecret(_ input: Case) async throws {
        try await Self.makeKeys()
        let directory = Self.directory + "/" + String(input.name.unicodeScalars.filter(\.properties.isAlphabetic).prefix(40))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func expand(_ text: String) -> String { text.replacingOccurrences(of: "{dir}", with: directory) }
        for name in ["cert.pem", "key.pem", "other-key.pem"] where !FileManager.default.fileExists(atPath: "\(directory)/\(name)") {
            try FileManager.default.copyItem(atPath: "\(Self.directory)/\(name)", toPath: "\(directory)/\(name)")
        }
        for (name, content) in input.files {
            try expand(content).write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        for name in input.fifos where !FileManager.default.fileExists(atPath: "\(directory)/\(name)") {
            #expect(mkfifo("\(directory)/\(name)", 0o600) == 0)
        }
        for (name, bytes) in input.rawFiles {
            try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        // The test's own environment may name the bed's DSNs: clear what the case does not set.
        var environment = ["DATA_SOURCE_NAME": "", "PGBOUNCER_DSN": "", "PGSTACK_CONFIG_FILE": "", "DATA_SOURCE_NAME_FILE": ""]
        for (key, value) in input.environment { environment[key] = expand(value) }
        let started = ContinuousClock.now
        var arguments = input.arguments.map(expand)
        if !arguments.contains("--web.listen-address") { arguments += ["--web.listen-address", "127.0.0.1:0"] }
        let output = try await Command.run("timeout", ["20", ExporterProcess.binaryPath] + arguments, environment: environment)
        let printed = output.text + output.standardError
        #expect(output.exitCode == input.exitCode, "exit \(output.exitCode.map(String.init) ?? "signal"): \(printed)")
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(printed.contains(input.message), "\(printed)")
        for secret in input.secrets {
            #expect(!printed.contains(secret), "secret \(secret) shown: \(printed)")
        }
        #expect(!printed.contains("Fatal error") && !printed.contains("Stack dump"), "\(printed)")
    }
}
