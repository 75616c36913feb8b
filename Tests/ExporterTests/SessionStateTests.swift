@testable import Exporter
import Testing

extension SessionState.Text {
    /// The statements of the text.
    var parts: [String] { sql.split(separator: "\n;\n").map(String.init) }
}

/// What the exporter sends a PostgreSQL session before and around the collectors' statements.
@Suite struct SessionStateTests {
    private let settings = ["SET LOCAL statement_timeout = 5000", "SET LOCAL lock_timeout = 1000"]

    @Test func statementsArePreparedOnceAndTheSettingsSentWithEachText() {
        var session = SessionState()
        let (one, two) = ("SELECT 1 AS one", "WITH x AS (SELECT 2) SELECT * FROM x")
        let (p1, p2) = (SessionState.name(for: one), SessionState.name(for: two))
        #expect(p1 != p2)
        let first = session.text(for: [one + ";", two], settings: settings)
        #expect(first.parts == settings + ["PREPARE \(p1) AS \(one)", "EXECUTE \(p1)", "PREPARE \(p2) AS \(two)", "EXECUTE \(p2)"])
        #expect(first.statementResults == [3, 5])
        #expect(first.resultCount == 6)
        session.succeeded(first)

        let again = session.text(for: ["SELECT 1 AS one", "SHOW server_version"], settings: settings)
        #expect(again.parts == settings + ["EXECUTE \(p1)", "SHOW server_version"])
        #expect(again.statementResults == [2, 3])
    }

    @Test func afterAFailureEverythingIsSentAgainFromAClearedSession() {
        var session = SessionState()
        session.succeeded(session.text(for: ["SELECT 1"], settings: settings))
        session.failed(sqlState: "42P01")
        let next = session.text(for: ["SELECT 1"], settings: settings)
        let name = SessionState.name(for: "SELECT 1")
        #expect(next.parts == ["DEALLOCATE ALL"] + settings + ["PREPARE \(name) AS SELECT 1", "EXECUTE \(name)"])
        session.succeeded(next)
        #expect(session.text(for: ["SELECT 1"], settings: settings).parts == settings + ["EXECUTE \(name)"])
    }

    /// Behind a transaction-pooling PgBouncer a prepared statement goes missing (26000), or a
    /// name is already there (42P05): the session is shared, so nothing more is prepared and
    /// nothing deallocated.
    @Test(arguments: ["26000", "42P05"])
    func aSharedSessionStopsPreparing(sqlState: String) {
        var session = SessionState()
        session.succeeded(session.text(for: ["SELECT 1"], settings: settings))
        session.failed(sqlState: sqlState)
        #expect(!session.preparing)
        #expect(session.text(for: ["SELECT 1"], settings: settings).parts == settings + ["SELECT 1"])
    }

    @Test func statementsBuiltAnewEachTimeAreNotPreparedPastTheCap() {
        var session = SessionState()
        for index in 0..<SessionState.maximumPrepared {
            session.succeeded(session.text(for: ["SELECT \(index)"], settings: settings))
        }
        #expect(session.text(for: ["SELECT -1"], settings: []).sql == "SELECT -1")
    }
}
