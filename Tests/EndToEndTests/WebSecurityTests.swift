import Foundation
import Testing
import TestSupport

/// TLS and basic auth from a `--web.config.file` in the exporter-toolkit format.
@Suite(.serialized, .needsTestBed) struct WebSecurityTests {
    let bed: TestBed
    let directory: String

    /// bcrypt (cost 10) of "pgstack-test-password", made with Python's crypt module.
    static let hash = "$2b$10$L4rfYMpi/oSk70iDBYDXuuyHUa7gsP0ahgOEUSwED6g77TmW0BmnG"

    init() throws {
        bed = try TestBed.current()
        directory = NSTemporaryDirectory() + "pgstack-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A self-signed certificate for 127.0.0.1, made for this test.
    private func makeCertificate() async throws {
        try await Command.check("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
        ])
    }

    private func writeWebConfig(_ text: String) throws -> String {
        let path = directory + "/web.yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The exporter on the bed's primary, serving TLS with a fresh test certificate: `tls`
    /// adds lines to `tls_server_config`, `rest` top-level keys.
    private func startServingTLS(tls: String = "", rest: String = "") async throws -> ExporterProcess {
        try await makeCertificate()
        let web = try writeWebConfig("tls_server_config:\n  cert_file: \(directory)/cert.pem\n  key_file: \(directory)/key.pem\n" + tls + rest)
        return try await ExporterProcess.start(["--web.config.file", web], environment: ["DATA_SOURCE_NAME": bed.primaryDSN])
    }

    @Test func tlsAndBasicAuthGuardEveryEndpoint() async throws {
        let exporter = try await startServingTLS(rest: "basic_auth_users:\n  prometheus: \(Self.hash)\n")
        try await stopping(exporter) {
            let base = "https://127.0.0.1:\(exporter.port)"
            let trust = ["--cacert", directory + "/cert.pem"]

            let scraped = try await HTTP.get(base + "/metrics", curlArguments: trust + ["-u", "prometheus:pgstack-test-password"])
            #expect(scraped.status == 200)
            #expect(try ScrapeText(scraped.text).value("pg_up") == 1)
            for path in ["/metrics", "/probe?target=postgres", "/primary?target=postgres", "/", "/healthz"] {
                let wrong = try await HTTP.get(base + path, curlArguments: trust + ["-u", "prometheus:not-the-password"])
                #expect(wrong.status == 401, "\(path)")
                #expect(wrong.headers["www-authenticate"]?.hasPrefix("Basic") == true)
                #expect(try await HTTP.get(base + path, curlArguments: trust).status == 401, "\(path)")
                #expect(try await HTTP.get(base + path, curlArguments: trust + ["-u", "nobody:pgstack-test-password"]).status == 401)
            }
            let plain = try await Command.run("curl", ["-sS", "--max-time", "5", "http://127.0.0.1:\(exporter.port)/metrics"])
            #expect(plain.exitCode != 0 || !plain.text.contains("pg_up"))
            let again = try await HTTP.get(base + "/primary?target=postgres", curlArguments: trust + ["-u", "prometheus:pgstack-test-password"])
            #expect(again.status == 200)
            #expect(!exporter.log.contains("pgstack-test-password"))
        }
    }

    @Test func aBrokenWebConfigStopsTheStartWithTheField() async throws {
        let missing = try writeWebConfig("tls_server_config:\n  cert_file: \(directory)/none.pem\n  key_file: \(directory)/none.key\n")
        let noCert = try await Command.run(ExporterProcess.binaryPath, ["--web.config.file", missing, "--dsn", bed.primaryDSN, "--web.listen-address", "127.0.0.1:0"])
        #expect(noCert.exitCode != 0)
        #expect(noCert.standardError.contains("tls_server_config.cert_file"))

        let plainPassword = try writeWebConfig("basic_auth_users:\n  prometheus: hunter2\n")
        let notHashed = try await Command.run(ExporterProcess.binaryPath, ["--web.config.file", plainPassword, "--dsn", bed.primaryDSN, "--web.listen-address", "127.0.0.1:0"])
        #expect(notHashed.exitCode != 0)
        #expect(notHashed.standardError.contains("web.yml:2:15: basic_auth_users.prometheus: is not a bcrypt hash"))
        #expect(!notHashed.standardError.contains("hunter2"))
    }

    /// A `$2y$` hash from `htpasswd -B` (what the README recommends) lets the right password in;
    /// an unknown user costs what a wrong password does; a flood of wrong passwords is turned
    /// away (429) without delaying a scrape whose credentials passed before.
    @Test func htpasswdHashesWorkUnknownUsersCostTheSameAndAFloodIsBounded() async throws {
        let made = try await Command.check("htpasswd", ["-nbB", "-C", "10", "prometheus", "pgstack-test-password"])
        let hash = String(made.text.trimmingCharacters(in: .whitespacesAndNewlines).drop { $0 != ":" }.dropFirst())
        #expect(hash.hasPrefix("$2y$10$"))
        let web = try writeWebConfig("basic_auth_users:\n  prometheus: \(hash)\n")
        let exporter = try await ExporterProcess.start(["--web.config.file", web], environment: ["DATA_SOURCE_NAME": bed.primaryDSN])
        try await stopping(exporter) {
            func status(_ user: String, _ password: String) async throws -> (Int, Duration) {
                let started = ContinuousClock.now
                let response = try await HTTP.get(exporter.baseURL + "/healthz", curlArguments: ["-u", "\(user):\(password)"])
                return (response.status, ContinuousClock.now - started)
            }
            #expect(try await status("prometheus", "pgstack-test-password").0 == 200)
            #expect(try await status("prometheus", "wrong").0 == 401)

            var wrongPassword: [Duration] = []
            var unknownUser: [Duration] = []
            for round in 0..<5 {
                let (wrong, wrongTook) = try await status("prometheus", "wrong-\(round)")
                let (unknown, unknownTook) = try await status("nobody-\(round)", "wrong-\(round)")
                #expect(wrong == 401 && unknown == 401)
                wrongPassword.append(wrongTook)
                unknownUser.append(unknownTook)
            }
            let medianWrong = wrongPassword.sorted()[2]
            let medianUnknown = unknownUser.sorted()[2]
            #expect(medianUnknown > medianWrong / 2 && medianUnknown < medianWrong * 2, "unknown \(medianUnknown), wrong \(medianWrong)")

            let flood = try await withThrowingTaskGroup(of: Int.self) { group in
                for round in 0..<16 {
                    group.addTask { try await status("prometheus", "flood-\(round)").0 }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(20))
                    return try await status("prometheus", "pgstack-test-password").0 == 200 ? 1 : -1
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(flood.count == 17)
            #expect(flood.contains(1), "a remembered password was refused during the flood: \(flood)")
            #expect(flood.filter { $0 == 429 }.count >= 8, "\(flood)")
            #expect(flood.allSatisfy { [1, 401, 429].contains($0) }, "\(flood)")
        }
    }

    /// The web config keys this exporter does not implement are refused, as is a client CA
    /// without a verifying client_auth_type; a verifying client CA demands a certificate.
    @Test func clientCertificatesAreVerifiedWhenAsked() async throws {
        let exporter = try await startServingTLS(tls: """
              client_ca_file: \(directory)/cert.pem
              client_auth_type: RequireAndVerifyClientCert
              min_version: TLS12
              max_version: TLS13

            """)
        try await stopping(exporter) {
            let base = "https://127.0.0.1:\(exporter.port)/healthz"
            let withCertificate = try await HTTP.get(base, curlArguments: [
                "--cacert", directory + "/cert.pem", "--cert", directory + "/cert.pem", "--key", directory + "/key.pem",
            ])
            #expect(withCertificate.status == 200)
            let without = try await Command.run("curl", ["-sS", "--max-time", "5", "--cacert", directory + "/cert.pem", base])
            #expect(without.exitCode != 0)
        }
    }
}
