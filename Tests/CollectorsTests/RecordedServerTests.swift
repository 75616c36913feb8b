import Collectors
import Exposition
import Foundation
import PostgresClient
import Synchronization
import Testing
import TestSupport

/// What a real server answered to every statement the PostgreSQL collectors sent, recorded
/// once (`scripts/record-fixtures.sh`) and kept in `Fixtures/`, so that the collectors' mapping
/// runs without a server: each fixture replayed through every default collector must give the
/// exposition text recorded beside it (node_exporter's fixture-driven e2e output, in small).
@Suite struct RecordedServerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    /// The fixtures kept: one per PostgreSQL release that was recorded.
    static let recorded = ["postgres-15", "postgres-17", "postgres-18"]

    @Test(arguments: recorded)
    func replayingARecordedServerGivesItsRecordedExposition(_ name: String) async throws {
        let fixture = try RecordedServer.load(Self.fixtures.appendingPathComponent(name + ".json"))
        #expect(fixture.results.count >= 20, "a fixture of \(fixture.results.count) statements is too thin to test anything")
        let text = try await fixture.exposition()
        let golden = try String(contentsOf: Self.fixtures.appendingPathComponent(name + ".prom"), encoding: .utf8)
        let (got, expected) = (text.split(separator: "\n"), golden.split(separator: "\n"))
        #expect(got.count == expected.count, "\(got.count) lines, recorded \(expected.count)")
        for (line, (have, want)) in zip(got, expected).enumerated() where have != want {
            Issue.record("line \(line + 1): \(have)\n  recorded: \(want)")
            break
        }
        #expect(text.contains("pg_up") == false)  // the engine's, not a collector's
        #expect(text.contains("pg_stat_database_xact_commit"))
    }

    /// What each release's views give, as the recordings show: PostgreSQL 17 moved checkpoints
    /// to pg_stat_checkpointer, 18 added num_done and moved the WAL I/O counters to pg_stat_io;
    /// pg_stat_io is 16+, with op_bytes until 17 and byte counters from 18.
    @Test(arguments: [
        ("postgres-15", ["pg_stat_bgwriter_checkpoints_timed_total", "pg_stat_wal_write_total", "pg_unused_indexes"],
         ["pg_stat_checkpointer_num_timed_total", "pg_stat_io_reads_total", "pg_stat_io_stats_reset_timestamp_seconds"]),
        ("postgres-17", ["pg_stat_checkpointer_num_timed_total", "pg_stat_wal_write_total", "pg_stat_io_reads_total", "pg_stat_io_op_bytes"],
         ["pg_stat_bgwriter_checkpoints_timed_total", "pg_stat_checkpointer_num_done_total", "pg_stat_io_read_bytes_total"]),
        ("postgres-18", ["pg_stat_checkpointer_num_timed_total", "pg_stat_checkpointer_num_done_total", "pg_stat_io_write_bytes_total"],
         ["pg_stat_wal_write_total", "pg_stat_io_op_bytes"]),
    ])
    func eachReleaseGivesTheFamiliesItsViewsHave(_ name: String, present: [String], absent: [String]) async throws {
        let text = try await RecordedServer.load(Self.fixtures.appendingPathComponent(name + ".json")).exposition()
        let families = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        #expect(families.count >= 130, "\(name): \(families.count) families")
        for family in present { #expect(families.contains(family), "\(name) lacks \(family)") }
        for family in absent { #expect(!families.contains(family), "\(name) has \(family)") }
    }

    /// Records a fixture from the live bed's primary (only when asked: PGSTACK_RECORD_FIXTURES=1).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PGSTACK_RECORD_FIXTURES"] == "1"))
    func recordThePrimary() async throws {
        let bed = try TestBed.current()
        let pool = BlockingPool(threadCount: 1)
        let connection = try await Connection.connect(to: try ConnectionString(bed.primaryDSN), on: pool)
        let recorder = RecordingRunner(connection: connection, pool: pool)
        for collector in CollectorCatalog.defaults(for: .postgres) {
            _ = try await collector.collect(from: recorder)
        }
        let major = connection.server.versionNumber / 10000
        let fixture = RecordedServer(versionNumber: connection.server.versionNumber, versionText: connection.server.versionText, results: recorder.results)
        let base = Self.fixtures.appendingPathComponent("postgres-\(major)")
        try fixture.save(base.appendingPathExtension("json"))
        try await fixture.exposition().write(to: base.appendingPathExtension("prom"), atomically: true, encoding: .utf8)
        try? await pool.run { connection.close() }
    }
}

/// A recorded server: its version and the result of each statement, by SQL text.
struct RecordedServer: Codable {
    let versionNumber: Int
    let versionText: String
    let results: [String: Result]

    struct Result: Codable {
        let columns: [String]
        let rows: [[String?]]
    }

    init(versionNumber: Int, versionText: String, results: [String: QueryResult]) {
        self.versionNumber = versionNumber
        self.versionText = versionText
        self.results = results.mapValues { Result(columns: $0.columns, rows: $0.rows) }
    }

    static func load(_ url: URL) throws -> RecordedServer {
        try JSONDecoder().decode(RecordedServer.self, from: Data(contentsOf: url))
    }

    func save(_ url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url)
    }

    /// Every default PostgreSQL collector run on the recorded answers, encoded.
    func exposition() async throws -> String {
        let replay = ReplayRunner(
            server: ServerInfo(versionNumber: versionNumber, versionText: versionText),
            results: results.mapValues { QueryResult(columns: $0.columns, rows: $0.rows) })
        var set = FamilySet()
        for collector in CollectorCatalog.defaults(for: .postgres) {
            set.add(try await collector.collect(from: replay))
        }
        return String(decoding: TextEncoder.encode(set.families), as: UTF8.self)
    }
}

/// Answers each statement from a recording; a statement not recorded means the collector's SQL
/// changed since, and the fixture must be recorded again.
struct ReplayRunner: QueryRunner {
    let server: ServerInfo
    let options = CollectorOptions()
    let results: [String: QueryResult]

    func query(_ sql: String) async throws -> QueryResult {
        guard let result = results[sql] else {
            throw PostgresError(kind: .queryFailed, message: "not in the fixture (run scripts/record-fixtures.sh): \(sql.prefix(120))")
        }
        return result
    }
}

/// Runs each statement on a live connection and keeps its result.
final class RecordingRunner: QueryRunner {
    let connection: Connection
    let pool: BlockingPool
    let options = CollectorOptions()
    private let recorded = Mutex<[String: QueryResult]>([:])

    init(connection: Connection, pool: BlockingPool) {
        self.connection = connection
        self.pool = pool
    }

    var server: ServerInfo { connection.server }
    var results: [String: QueryResult] { recorded.withLock { $0 } }

    func query(_ sql: String) async throws -> QueryResult {
        let result = try await connection.query(sql, timeout: .seconds(30), on: pool)
        recorded.withLock { $0[sql] = result }
        return result
    }
}
