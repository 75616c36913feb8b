import Exposition
import Foundation
import PostgresClient
import Testing
@testable import Exporter

/// What a scraper records for the status page: up/down since when, role, lag, slowest and
/// failing collectors, and error texts with no address in them.
@Suite struct TargetStatusTests {
    static let target = TargetConfiguration(
        name: "db", kind: .postgres,
        connectionString: try! ConnectionString("host=db1.example.com,10.1.2.3 port=5432 user=u password=Sup3r-S3cret-Pw dbname=d"))

    static func outcome(_ collector: String, ms: Int, error: PostgresError? = nil, families: [MetricFamily] = []) -> CollectorOutcome {
        CollectorOutcome(collector: collector, families: families, error: error, duration: .milliseconds(ms))
    }

    static func gauge(_ name: String, _ value: Double) -> MetricFamily {
        MetricFamily(name: name, help: "", type: .gauge, samples: [Sample(value: value)])
    }

    static let refused = PostgresError(
        kind: .connectionFailed,
        message: "connection to server at \"db1.example.com\" (10.9.8.7), port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\nconnection to server at \"10.1.2.3\", port 5432 failed: timeout expired\n")

    @Test func libpqAddressesAreTakenOutOfErrors() {
        let text = TargetStatusRecord.withoutAddresses(Self.refused.description, of: Self.target.connectionString)
        #expect(text == "Connection refused timeout expired")
        // As the exporter receives it: libpq's lines already joined into one.
        let joined = TargetStatusRecord.withoutAddresses(
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is the server running on that host and accepting TCP/IP connections?",
            of: Self.target.connectionString)
        #expect(joined == "Connection refused")
        let lookup = TargetStatusRecord.withoutAddresses(
            "could not translate host name \"db1.example.com\" to address: Name or service not known", of: Self.target.connectionString)
        #expect(lookup == "could not translate the host name to an address: Name or service not known")
        let certificate = TargetStatusRecord.withoutAddresses(
            "server certificate for \"other\" does not match host name \"db1.example.com\"", of: Self.target.connectionString)
        #expect(certificate == "server certificate for \"other\" does not match host name \"(host)\"")
    }

    @Test func upAndDownKeepTheTimeTheStateChanged() throws {
        var record = TargetStatusRecord()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let healthy = [
            Self.outcome("server", ms: 3, families: [Self.gauge("pg_replication_is_replica", 1)]),
            Self.outcome("standby", ms: 40, families: [Self.gauge("pg_replication_lag_seconds", 2.5)]),
            Self.outcome("database", ms: 12), Self.outcome("locks", ms: 7),
        ]
        record.note(healthy, duration: .milliseconds(70), target: Self.target, at: start)
        var scrape = try #require(record.lastScrape)
        #expect(scrape.up && scrape.since == start && scrape.role == .standby && scrape.roleIsCurrent && scrape.lagSeconds == 2.5)
        #expect(scrape.slowest.map(\.collector) == ["standby", "database", "locks"])
        #expect(scrape.failing.isEmpty && record.lastError == nil)

        record.note(healthy, duration: .milliseconds(70), target: Self.target, at: start + 15)
        #expect(record.lastScrape?.since == start && record.lastScrape?.at == start + 15)

        let down = ["server", "standby"].map { Self.outcome($0, ms: 0, error: Self.refused) }
        record.note(down, duration: .seconds(1), target: Self.target, at: start + 30)
        scrape = try #require(record.lastScrape)
        #expect(!scrape.up && scrape.since == start + 30)
        #expect(scrape.role == .standby && !scrape.roleIsCurrent && scrape.lagSeconds == nil)
        #expect(scrape.failing.map(\.collector) == ["server", "standby"])
        let error = try #require(record.lastError)
        #expect(error.kindText == "cannot connect" && error.collector == "server" && error.at == start + 30)
        #expect(!error.text.contains("db1.example.com") && !error.text.contains("10.") && !error.text.contains("Sup3r"))

        record.note(healthy, duration: .milliseconds(70), target: Self.target, at: start + 45)
        #expect(record.lastScrape?.up == true && record.lastScrape?.since == start + 45)
        #expect(record.lastError?.at == start + 30)  // the last error stays after recovery
    }

    @Test func aPrimaryShowsNoLagAndAServerErrorKeepsTheTargetUp() throws {
        var record = TargetStatusRecord()
        let outcomes = [
            Self.outcome("server", ms: 3, families: [Self.gauge("pg_replication_is_replica", 0)]),
            Self.outcome("standby", ms: 4, families: [Self.gauge("pg_replication_lag_seconds", 0)]),
            Self.outcome("settings", ms: 5, error: PostgresError(kind: .queryFailed, sqlState: "42501", message: "permission denied for view x")),
        ]
        record.note(outcomes, duration: .milliseconds(12), target: Self.target)
        let scrape = try #require(record.lastScrape)
        #expect(scrape.up && scrape.role == .primary && scrape.lagSeconds == nil)
        #expect(scrape.failing.map(\.collector) == ["settings"])
        #expect(record.lastError?.text == "permission denied for view x (SQLSTATE 42501)" && record.lastError?.kindText == "query failed")
    }
}
