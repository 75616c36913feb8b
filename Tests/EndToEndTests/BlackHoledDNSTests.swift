import Foundation
import Testing
import TestSupport

/// A resolver that never answers: the exporter runs in a network namespace of its own whose
/// `resolv.conf` names a DNS server on its loopback that reads queries and answers none
/// (`getaddrinfo` then waits 20 s). The host name lookup must be bounded by the scrape deadline.
@Suite(.serialized) struct BlackHoledDNSTests {
    static let namespace = "pgstack-dns-\(UInt16.random(in: 0...UInt16.max))"

    /// Makes the namespace and its silent resolver, runs `body`, and removes both.
    private func withSilentResolver(_ body: () async throws -> Void) async throws {
        let ns = Self.namespace
        try await Command.check("ip", ["netns", "add", ns])
        do {
            try await Command.check("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"])
            try FileManager.default.createDirectory(atPath: "/etc/netns/\(ns)", withIntermediateDirectories: true)
            try "nameserver 127.0.0.1\n".write(toFile: "/etc/netns/\(ns)/resolv.conf", atomically: true, encoding: .utf8)
            let resolver = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', 53))\nwhile True: s.recvfrom(4096)\n"
            async let running = Command.run("ip", ["netns", "exec", ns, "timeout", "60", "python3", "-c", resolver])
            try await Task.sleep(for: .milliseconds(300))
            try await body()
            await removeNamespace()
            _ = try await running
        } catch {
            await removeNamespace()
            throw error
        }
    }

    /// Ends what runs in the namespace and removes it.
    private func removeNamespace() async {
        let ns = Self.namespace
        let pids = (try? await Command.run("ip", ["netns", "pids", ns]).text.split(separator: "\n").map(String.init)) ?? []
        if !pids.isEmpty { _ = try? await Command.run("kill", pids) }
        _ = try? await Command.run("ip", ["netns", "del", ns])
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(ns)")
    }

    @Test func aHostNameLookupThatNeverEndsIsBoundedByTheScrapeDeadline() async throws {
        try await withSilentResolver {
            let exporter = try await ExporterProcess.start(
                [], environment: ["DATA_SOURCE_NAME": "host=db.pgstack.example port=5432 dbname=postgres user=u password=Sup3r-S3cret-Pw"],
                launcher: ["ip", "netns", "exec", Self.namespace])
            for _ in 0..<2 {
                let started = ContinuousClock.now
                let output = try await Command.check("ip", [
                    "netns", "exec", Self.namespace, "curl", "-sS", "--max-time", "20",
                    "-H", "X-Prometheus-Scrape-Timeout-Seconds: 2", "\(exporter.baseURL)/metrics",
                ])
                let took = ContinuousClock.now - started
                #expect(took < .seconds(3), "\(took)")
                #expect(try ScrapeText(output.text).value("pg_up") == 0)
            }
            let stopping = ContinuousClock.now
            await exporter.stop()
            #expect(ContinuousClock.now - stopping < .seconds(6))
            #expect(exporter.log.contains("looking up host"), "\(exporter.log)")
            #expect(!exporter.log.contains("Sup3r-S3cret-Pw"))
        }
    }
}
