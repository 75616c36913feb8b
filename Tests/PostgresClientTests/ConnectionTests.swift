import PostgresClient
import Testing
import TestSupport

/// libpq through our wrapper, against the real test bed.
@Suite(.needsTestBed) struct ConnectionTests {
    let bed: TestBed
    let pool = BlockingPool(threadCount: 4)

    init() throws {
        bed = try TestBed.current()
    }

    private func connect(_ dsn: String) async throws -> Connection {
        try await Connection.connect(to: try ConnectionString(dsn), on: pool)
    }

    @Test func connectsToPostgresWithItsApplicationNameAndVersion() async throws {
        let connection = try await connect(bed.primaryDSN)
        #expect(connection.server.kind == .postgres)
        #expect(connection.server.versionNumber >= 150000)
        let result = try await connection.query(
            "SELECT application_name, NULL::text AS missing, ''::text AS empty FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            timeout: .seconds(5), on: pool)
        #expect(result.columns == ["application_name", "missing", "empty"])
        #expect(result.rows.count == 1)
        #expect(result.rows[0][0] == "pgstack_exporter")
        #expect(result.rows[0][1] == nil)
        #expect(result.rows[0][2] == "")
    }

    @Test func aQueryErrorCarriesItsSQLStateAndLeavesTheConnectionUsable() async throws {
        let connection = try await connect(bed.primaryDSN)
        do {
            _ = try await connection.query("SELECT * FROM no_such_table", timeout: .seconds(5), on: pool)
            Issue.record("query succeeded")
        } catch let error as PostgresError {
            #expect(error.kind == .queryFailed)
            #expect(error.sqlState == "42P01")
            #expect(error.serverAnswered)
        }
        let result = try await connection.query("SELECT 1 AS one", timeout: .seconds(5), on: pool)
        #expect(result.rows == [["1"]])
    }

    @Test func severalStatementsInOneTextReturnEachResultAndStopAtTheFirstError() async throws {
        let connection = try await connect(bed.primaryDSN)
        let results = try await connection.queryEach(
            "SET lock_timeout = 1234; SELECT 1 AS one; SELECT 'x' AS letter, NULL AS nothing UNION ALL SELECT 'y', 'z'; SHOW lock_timeout",
            timeout: .seconds(5), on: pool)
        #expect(results.map(\.columns) == [[], ["one"], ["letter", "nothing"], ["lock_timeout"]])
        #expect(results[2].rows == [["x", nil], ["y", "z"]])
        #expect(results[3].rows == [["1234ms"]])

        // One transaction: the error rolls back the SET before it, and nothing after it runs.
        do {
            _ = try await connection.queryEach(
                "SET lock_timeout = 999; SELECT * FROM no_such_table; SET application_name = 'changed'",
                timeout: .seconds(5), on: pool)
            Issue.record("the text with a missing table succeeded")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42P01")
        }
        let after = try await connection.query("SELECT current_setting('lock_timeout'), current_setting('application_name')", timeout: .seconds(5), on: pool)
        #expect(after.rows == [["1234ms", "pgstack_exporter"]])
    }

    @Test func aQueryPastItsDeadlineIsCancelledOnTheServer() async throws {
        let connection = try await connect(bed.primaryDSN)
        let started = ContinuousClock.now
        do {
            _ = try await connection.query("SELECT pg_sleep(10)", timeout: .milliseconds(300), on: pool)
            Issue.record("pg_sleep(10) returned")
        } catch let error as PostgresError {
            #expect(error.kind == .timedOut)
            #expect(error.sqlState == "57014")
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        let result = try await connection.query("SELECT 2 AS two", timeout: .seconds(5), on: pool)
        #expect(result.rows == [["2"]])
    }

    @Test func aWrongPasswordFailsWithoutRevealingIt() async throws {
        let secret = "Wr0ng-\(UInt32.random(in: 1000...9999))-Secret"
        let dsn = bed.primaryDSN(password: secret)
        #expect(dsn.contains(secret))
        do {
            _ = try await connect(dsn)
            Issue.record("connected with a wrong password")
        } catch let error as PostgresError {
            #expect(error.kind == .connectionFailed)
            #expect(error.message.contains("password authentication failed"))
            #expect(!error.message.contains(secret))
        }
    }

    @Test func aServerThatIsNotThereFailsFast() async throws {
        let started = ContinuousClock.now
        do {
            _ = try await connect("host=127.0.0.1 port=1 dbname=postgres user=nobody connect_timeout=2")
            Issue.record("connected to port 1")
        } catch let error as PostgresError {
            #expect(error.kind == .connectionFailed)
            #expect(error.message.contains("Connection refused"))
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func thePgBouncerConsoleAnswersSimpleQueriesAndSurvivesAnError() async throws {
        let connection = try await connect(bed.pgbouncerDSN)
        #expect(connection.server.kind == .pgbouncer)
        #expect(connection.server.versionText.hasSuffix("/bouncer"))
        do {
            _ = try await connection.query("SHOW NO_SUCH_THING", timeout: .seconds(5), on: pool)
            Issue.record("SHOW NO_SUCH_THING succeeded")
        } catch let error as PostgresError {
            #expect(error.kind == .queryFailed)
        }
        let version = try await connection.query("SHOW VERSION", timeout: .seconds(5), on: pool)
        #expect(version.index(of: "version") != nil)
        #expect(version.rows.first?.first??.hasPrefix("PgBouncer ") == true)
    }
}
