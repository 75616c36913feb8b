@testable import Collectors
import Exposition
import PostgresClient
import Synchronization
import Testing

/// The queries whose SQL, labels or presence depend on the target's options, and the
/// statements collector's dependence on its extension.
@Suite struct OptionDependentQueriesTests {
    /// The requirements' answer: the role may read all statistics (and the extension is there).
    static let allVisible = ["AS r0": QueryResult(columns: ["r0", "r1"], rows: [["t", "t"]])]

    @Test func sessionsByColumnsAreAskedOnlyWithActivityLabels() async throws {
        let plain = ScriptedRunner(options: CollectorOptions(), answers: Self.allVisible)
        let families = try await connectionsCollector.collect(from: plain)
        #expect(plain.asked.count == 5, "the privilege check and four queries")
        #expect(!plain.asked.contains { $0.contains("application_name") })
        #expect(!families.map(\.name).contains("pg_stat_activity_sessions"))

        var options = CollectorOptions()
        options.activityLabels = [.usename, .applicationName]
        options.activityLabelsLimit = 7
        let labelled = ScriptedRunner(options: options, answers: Self.allVisible.merging([
            "coalesce(application_name": QueryResult(
                columns: ["datname", "state", "usename", "application_name", "count"],
                rows: [["app", "active", "alice", "psql", "3"], ["app", "idle", "bob", nil, "2"]]),
        ]) { first, _ in first })
        let sessions = try #require(try await connectionsCollector.collect(from: labelled).first { $0.name == "pg_stat_activity_sessions" })
        #expect(labelled.asked.count == 6)
        let sql = try #require(labelled.asked.first { $0.contains("coalesce(application_name") })
        #expect(sql.contains("coalesce(usename, '') AS usename") && sql.contains("LIMIT 7") && !sql.contains("wait_event_type"))
        #expect(sessions.samples.count == 2)
        #expect(sessions.samples.map(\.labels.count) == [4, 4])
        #expect(sessions.samples[0].labels == [Label("datname", "app"), Label("state", "active"), Label("usename", "alice"), Label("application_name", "psql")])
        #expect(sessions.samples.map(\.value) == [3, 2])
    }

    @Test func withoutPgReadAllStatsNoSessionStateOrAgeIsAsked() async throws {
        var options = CollectorOptions()
        options.activityLabels = [.usename]
        let limited = ScriptedRunner(options: options, answers: ["AS r0": QueryResult(columns: ["r0"], rows: [["f"]])])
        let families = try await connectionsCollector.collect(from: limited)
        #expect(limited.asked.count == 3, "the privilege check, then only backends by type and the limits")
        #expect(limited.asked[0].contains("pg_read_all_stats"))
        #expect(!families.map(\.name).contains { $0.hasPrefix("pg_stat_activity_") && $0 != "pg_stat_activity_backends" })
    }

    @Test func withoutTheExtensionStatementsReportOnlyThatItIsMissing() async throws {
        let missing = ScriptedRunner(options: CollectorOptions(), answers: [
            "AS r0": QueryResult(columns: ["r0", "r1", "r2", "r3"], rows: [["f", "f", "f", "f"]]),
            "AS available": QueryResult(columns: ["available"], rows: [["0"]]),
        ])
        let families = try await statementsCollector.collect(from: missing)
        #expect(families.map(\.name) == ["pg_stat_statements_available"])
        #expect(families.first?.samples.map(\.value) == [0])
        #expect(!missing.asked.contains { $0.contains("FROM pg_stat_statements(") })
    }

    @Test func statementTextIsAskedOnlyWhenIncluded() async throws {
        let installed = ["AS r0": QueryResult(columns: ["r0", "r1", "r2", "r3"], rows: [["t", "t", "t", "t"]])]
        let plain = ScriptedRunner(options: CollectorOptions(), answers: installed)
        _ = try await statementsCollector.collect(from: plain)
        #expect(!plain.asked.contains { $0.contains("pg_stat_statements(true)") })
        #expect(plain.asked.contains { $0.contains("LIMIT 25") })

        var options = CollectorOptions()
        options.statementsIncludeQuery = true
        options.statementsTopN = 3
        options.statementsQueryLength = 40
        let withText = ScriptedRunner(options: options, answers: installed)
        _ = try await statementsCollector.collect(from: withText)
        let text = try #require(withText.asked.first { $0.contains("pg_stat_statements(true)") })
        #expect(text.contains("LIMIT 3") && text.contains(", 40)"))
    }
}

/// Answers each statement with the result whose key it contains (keys must not overlap) (one empty row otherwise),
/// and keeps what it was asked.
final class ScriptedRunner: QueryRunner {
    let server = ServerInfo(versionNumber: 150018, versionText: "15.18")
    let options: CollectorOptions
    private let answers: [String: QueryResult]
    private let log = Mutex<[String]>([])

    init(options: CollectorOptions, answers: [String: QueryResult] = [:]) {
        self.options = options
        self.answers = answers
    }

    var asked: [String] { log.withLock { $0 } }

    func query(_ sql: String) async throws -> QueryResult {
        log.withLock { $0.append(sql) }
        return answers.first { sql.contains($0.key) }?.value ?? QueryResult(columns: [], rows: [])
    }
}
