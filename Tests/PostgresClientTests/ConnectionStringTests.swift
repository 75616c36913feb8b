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

    @Test(arguments: [
        "postgresql://monitor:Sup3r@Secret@db.example/app",
        "postgresql://monitor:Sup3r/Secret@db.example/app",
        "postgres://monitor:a@b@c@db.example:5432/app?sslmode=disable",
        " postgresql://monitor:Sup3r/Secret@db.example/app",
    ])
    func aURIWhoseUserInfoLibpqWouldSplitWronglyIsRefused(dsn: String) {
        #expect(throws: PostgresError.self) { try ConnectionString(dsn) }
        do {
            _ = try ConnectionString(dsn)
        } catch let error as PostgresError {
            #expect(error.message.contains("percent-encode"))
            #expect(!error.message.contains("Secret") && !error.message.contains("db.example"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: [
        "postgresql://monitor:Sup3r%40Secret@db.example/app",
        "postgresql://db.example/app?user=monitor&password=Sup3r@Secret",
        "postgresql:///app?host=/var/run/postgresql",
        "host=db.example password=Sup3r@Sec/ret",
    ])
    func reservedCharactersWhereLibpqReadsThemRightAreAccepted(dsn: String) throws {
        let connectionString = try ConnectionString(dsn)
        #expect(!connectionString.redacted.contains("Secret") && !connectionString.redacted.contains("Sec/ret"))
    }

    @Test func sslPasswordsAndTheQuotedAndEncodedFormsOfSecretsAreRedacted() throws {
        let quoted = try ConnectionString(#"host=db password='it\'s a s3cret' sslpassword=K3y-Pa55"#)
        #expect(quoted.password == "it's a s3cret")
        let message = #"failed: password 'it\'s a s3cret', key K3y-Pa55, it's a s3cret"#
        let redacted = quoted.redact(message)
        #expect(!redacted.contains("s3cret") && !redacted.contains("K3y-Pa55"), "\(redacted)")

        let encoded = try ConnectionString("postgresql://monitor:p%40ss%2Fw0rd%21@db/app")
        #expect(encoded.password == "p@ss/w0rd!")
        let echoed = encoded.redact("bad p%40ss%2Fw0rd%21 or p@ss/w0rd!")
        #expect(!echoed.contains("w0rd"), "\(echoed)")
    }

    /// Found by the fuzzer: a password that starts with a combining mark joins the character
    /// before it in a message, and a search by characters missed it; a password that is also
    /// the user name was shown as the user.
    @Test func passwordsAreFoundByTheirBytesAndNeverShownAsAnotherField() throws {
        let combining = try ConnectionString("host=db password=\u{301}abcd")
        #expect(!combining.redact("failed for x \u{301}abcd").contains("abcd"))
        let same = try ConnectionString("host=db user=samesame password=samesame")
        #expect(!same.redacted.contains("samesame"), "\(same.redacted)")
        #expect(same.identity != (try ConnectionString("host=db user=samesame password=other")).identity)
    }
}
