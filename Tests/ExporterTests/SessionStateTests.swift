@testable import Exporter
import Testing

extension SessionState.Text {
    /// The statements of the text.
    var parts: [String] { sql.split(separator: "\n;\n").map(String.init) }
}

/// What the exporter sends a PostgreSQL session before and around the collectors' statements.
@Suite struct SessionStateTests {
    private let settings = ["SET statement_timeout = 5000", "SET lock_timeout = 1000"]

    @Test func statementsArePreparedOnceAndTheSettingsSentOnce() {
        var session = SessionState()
        let first = session.text(for: ["SELECT 1 AS one;", "WITH x AS (SELECT 2) SELECT * FROM x"], settings: settings)
        #expect(first.parts == settings + [
            "PREPARE pgstack_0 AS SELECT 1 AS one", "EXECUTE pgstack_0",
            "PREPARE pgstack_1 AS WITH x AS (SELECT 2) SELECT * FROM x", "EXECUTE pgstack_1",
        ])
        #expect(first.statementResults == [3, 5])
        #expect(first.resultCount == 6)
        session.succeeded(first)

        let again = session.text(for: ["SELECT 1 AS one", "SHOW server_version"], settings: settings)
        #expect(again.parts == ["EXECUTE pgstack_0", "SHOW server_version"])
        #expect(again.statementResults == [0, 1])
    }

    @Test func afterAFailureEverythingIsSentAgainFromAClearedSession() {
        var session = SessionState()
        session.succeeded(session.text(for: ["SELECT 1"], settings: settings))
        session.failed(sqlState: "42P01")
        let next = session.text(for: ["SELECT 1"], settings: settings)
        #expect(next.parts == ["DEALLOCATE ALL", "PREPARE pgstack_1 AS SELECT 1", "EXECUTE pgstack_1"])
        session.succeeded(next)
        #expect(session.text(for: ["SELECT 1"], settings: settings).sql == "EXECUTE pgstack_1")
    }

    @Test func aSessionThatLosesItsPreparedStatementsStopsPreparing() {
        var session = SessionState()
        session.succeeded(session.text(for: ["SELECT 1"], settings: settings))
        session.failed(sqlState: "26000")
        #expect(!session.preparing)
        let next = session.text(for: ["SELECT 1"], settings: ["SET statement_timeout = 1"])
        #expect(next.parts == ["DEALLOCATE ALL", "SET statement_timeout = 1", "SELECT 1"])
    }

    @Test func statementsBuiltAnewEachTimeAreNotPreparedPastTheCap() {
        var session = SessionState()
        for index in 0..<SessionState.maximumPrepared {
            session.succeeded(session.text(for: ["SELECT \(index)"], settings: settings))
        }
        #expect(session.text(for: ["SELECT -1"], settings: settings).sql == "SELECT -1")
    }
}
