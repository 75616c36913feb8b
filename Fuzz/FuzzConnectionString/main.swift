// Fuzzes libpq connection strings (both forms): parsing must not trap, and a password or
// sslpassword the string sets never shows in `redacted` nor in a message passed through `redact`.
import FuzzSupport
import PostgresClient

/// The placeholders `redact` writes: a secret may happen to be part of one ("acted").
let placeholders = ["<redacted>", "<dsn>"].map { Array($0.utf8) }

/// Whether `secret` is in `text` outside the placeholders.
func shows(_ secret: String, in text: String) -> Bool {
    var bytes = Array(text.utf8)
    for placeholder in placeholders {
        bytes = FuzzSupport.bytes(bytes, replacing: placeholder, with: [0])  // libpq values hold no NUL
    }
    return FuzzSupport.bytes(bytes, contain: secret.utf8)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBuffer(data, size), as: UTF8.self)
    let connectionString: ConnectionString
    do {
        connectionString = try ConnectionString(text)
    } catch let error as PostgresError {
        fuzzCheck(error.kind == .invalidConnectionString, "refused with kind \(error.kind)")
        return 0
    } catch {
        fuzzCheck(false, "threw \(type(of: error)), not a PostgresError")
        return 0
    }
    _ = (connectionString.password, connectionString.database, connectionString.namesAdminConsole)
    let otherDatabase = connectionString.withDatabase("other")
    fuzzCheck(otherDatabase.database == "other", "withDatabase ignored")

    for key in ["password", "sslpassword"] {
        guard let secret = connectionString.options[key], secret.count >= 4 else { continue }
        let redacted = connectionString.redacted
        fuzzCheck(!shows(secret, in: redacted), "\(key) \(secret.debugDescription) shown by redacted: \(redacted.debugDescription)")
        fuzzCheck(!shows(secret, in: otherDatabase.redacted), "\(key) shown by redacted (withDatabase)")
        for message in [
            "password authentication failed: \(secret)",
            "\(secret)",
            "could not connect with \(text): FATAL \(secret) rejected",
            "x\(secret)\(secret)y",
        ] {
            let redactedMessage = connectionString.redact(message)
            fuzzCheck(!shows(secret, in: redactedMessage), "\(key) \(secret.debugDescription) shown by redact: \(redactedMessage.debugDescription)")
        }
        // A password given apart replaces the one in the string; both are still secrets.
        let separate = connectionString.withPassword(secret + "-apart")
        fuzzCheck(!shows(secret, in: separate.redact("auth failed for \(secret + "-apart") and \(secret)")),
                  "\(key) shown by redact with a separate password")
    }
    return 0
}

@main struct FuzzConnectionStringMain {
    static func main() {
        FuzzMain.run { data, size in fuzz(data, size) }
    }
}
