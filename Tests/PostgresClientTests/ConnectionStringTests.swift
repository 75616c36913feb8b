@testable import PostgresClient
import Testing

@Suite struct ConnectionStringTests {
    @Test(arguments: [
        "host=db.example port=5433 dbname=app user=monitor password=Sup3rSecret",
        "postgresql://monitor:Sup3rSecret@db.example:5433/app",
        "postgres://monitor:Sup3rSecret@db.example:5433/app?sslmode=disable",
    ])
    func bothFormsParseAndRedactThePassword(dsn: String) throws {
        let connectionString = try ConnectionString(dsn)
        #expect(connectionString.password == "Sup3rSecret")
        #expect(connectionString.redacted == "db.example:5433/app user=monitor")
        let message = "could not connect with \(dsn): password Sup3rSecret rejected"
        #expect(!connectionString.redact(message).contains("Sup3rSecret"))
    }

    @Test(arguments: [
        "host=db password=Sup3rSecret bogus",
        "host=db password='Sup3rSecret",
        "postgresql://monitor:Sup3rSecret@db/app?nosuch=Sup3rSecret",
        "host=db nosuchoption=Sup3rSecret",
    ])
    func aStringThatDoesNotParseIsRefusedWithoutQuotingIt(dsn: String) {
        do {
            _ = try ConnectionString(dsn)
            Issue.record("\(dsn) parsed")
        } catch let error as PostgresError {
            #expect(error.kind == .invalidConnectionString)
            #expect(!error.message.contains("Sup3rSecret"))
            #expect(error.message.hasPrefix("invalid connection string"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theAdminConsoleIsRecognisedByItsDatabaseName() throws {
        #expect(try ConnectionString("host=127.0.0.1 port=6432 dbname=pgbouncer user=stats").namesAdminConsole)
        #expect(try !ConnectionString("host=127.0.0.1 dbname=postgres").namesAdminConsole)
    }

    @Test func illFormedUTF8FromTheServerIsRepaired() {
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xC3, 0x28]  // a, stray byte, b, truncated sequence
        let text = bytes.withUnsafeBufferPointer { Connection.decodeText($0) }
        #expect(text == "a\u{FFFD}b\u{FFFD}(")
        #expect(Array(text.utf8).count > 0)
    }
}
