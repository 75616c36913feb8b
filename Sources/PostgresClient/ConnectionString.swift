import CLibPQ

/// A PostgreSQL connection string, in either form libpq accepts (`postgresql://…` URI or
/// `key=value …`), checked with libpq's own parser so that what we accept is exactly what
/// libpq will connect with.
///
/// The raw string is a secret: it may carry a password. Only ``redacted`` and messages passed
/// through ``redact(_:)`` may be shown to a person or written to a log.
public struct ConnectionString: Sendable {
    /// The string as the user wrote it. Never log this.
    public let raw: String
    /// Every option libpq recognised, with the values the string set (options left unset are absent).
    public let options: [String: String]
    /// A password given apart from the string (from a file or the environment); it wins over
    /// one in the string.
    public private(set) var separatePassword: String?

    /// Parses `raw` with `PQconninfoParse`.
    /// - Throws: ``PostgresError`` of kind ``PostgresError/Kind/invalidConnectionString``; its
    ///   message never repeats any part of the string.
    public init(_ raw: String) throws {
        guard !raw.utf8.contains(0) else {
            throw PostgresError(kind: .invalidConnectionString, message: "invalid connection string: it holds a NUL byte (libpq would drop what follows)")
        }
        if let problem = Self.misparsedUserInfo(raw) {
            throw PostgresError(kind: .invalidConnectionString, message: "invalid connection string: " + problem)
        }
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(raw, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(
                kind: .invalidConnectionString,
                message: "invalid connection string: " + Self.withoutQuotedFragments(reason))
        }
        defer { PQconninfoFree(parsed) }
        var options: [String: String] = [:]
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                options[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        self.raw = raw
        self.options = options
    }

    /// The password the connection will use, if any is given here (libpq may still find one
    /// in `PGPASSWORD` or a password file).
    public var password: String? { separatePassword ?? options["password"] }

    /// Another database on the same server, for the collectors that read each database.
    public private(set) var separateDatabase: String?

    /// The database the connection opens.
    public var database: String? { separateDatabase ?? options["dbname"] }

    /// The same connection string for database `name`.
    public func withDatabase(_ name: String) -> ConnectionString {
        var copy = self
        copy.separateDatabase = name
        return copy
    }

    /// The same connection string with `password` given apart (a secret file, for instance).
    public func withPassword(_ password: String) -> ConnectionString {
        var copy = self
        copy.separatePassword = password
        return copy
    }

    /// Whether this string names the PgBouncer admin console database.
    public var namesAdminConsole: Bool { options["dbname"] == "pgbouncer" }

    /// Where the string points, safe to show: `host:port/dbname user=…`, never the password
    /// (not even when a host, database or user name holds it).
    public var redacted: String {
        var host = shown(options["host"] ?? options["hostaddr"] ?? "localhost")
        if host.contains(":") && !host.hasPrefix("/") { host = "[\(host)]" }  // IPv6
        var text = "\(host):\(shown(options["port"] ?? "5432"))/\(shown(database ?? options["user"] ?? ""))"
        if let user = options["user"] { text += " user=\(shown(user))" }
        // A secret may still match across the parts and their labels (`user=` + a user name).
        return secrets.contains { !$0.isEmpty && text.utf8.firstRange(of: $0.utf8) != nil } ? "(address not shown: it would give a secret away)" : text
    }

    /// The secrets this string carries: `password`, `sslpassword` and a password given apart.
    private var secrets: [String] {
        Self.secretOptions.compactMap { options[$0] } + [separatePassword].compactMap { $0 }
    }

    /// Whether `text` could be a connection string, or part of one, typed where another value
    /// belongs (`key=value`, a URI, `user@host`): never repeated in an address or a message.
    public static func looksLikeConnectionString(_ text: some StringProtocol) -> Bool {
        text.contains("://") || text.contains("=") || text.contains("@")
    }

    /// A part of the address as it may be shown: itself, or `(not shown)` when it holds a
    /// secret (even a one-character password would be given away by replacing it in place) or
    /// looks like a connection string written in the wrong place.
    private func shown(_ part: String) -> String {
        let holdsSecret = secrets.contains { !$0.isEmpty && part.utf8.firstRange(of: $0.utf8) != nil }
        let looksLikeDSN = Self.looksLikeConnectionString(part)
        // Control characters and bytes that were not UTF-8 (U+FFFD) make no readable address.
        let garbled = part.unicodeScalars.contains { $0 == "\u{FFFD}" || $0.properties.generalCategory == .control }
        return holdsSecret || looksLikeDSN || garbled ? "(not shown)" : part
    }

    /// What tells this connection from any other (every option, the separate password and
    /// database): a key for results kept per server. A secret, like ``raw``: never show it.
    public var identity: String {
        [raw, separateDatabase ?? "", separatePassword ?? ""].joined(separator: "\u{0}")
    }

    /// Removes every secret this string carries (its password, and the whole raw string) from
    /// `message`, so that a libpq error can be logged or returned safely.
    public func redact(_ message: String) -> String {
        var text = message
        if !raw.isEmpty { text = text.replacingAll(raw, with: "<dsn>") }
        let secrets = self.secrets
        for secret in secrets where !secret.isEmpty {
            for form in Set([secret, Self.percentEncoded(secret), Self.quoted(secret)]) {
                text = text.replacingAll(form, with: "<redacted>")
            }
        }
        return text
    }

    /// Why libpq would split the user info of a URI in the wrong place, or `nil`. libpq ends
    /// the user info at the first `@` or `/`, so a password holding either, unencoded, turns its
    /// tail into a host name (which would then be shown as the target's address).
    static func misparsedUserInfo(_ raw: String) -> String? {
        let text = raw.trimmingTrailingWhitespace().drop(while: \.isWhitespace)
        guard let scheme = ["postgresql://", "postgres://"].first(where: { text.hasPrefix($0) }) else { return nil }
        let rest = text.dropFirst(scheme.count).prefix { $0 != "?" }
        let ats = rest.indices.filter { rest[$0] == "@" }
        guard let firstAt = ats.first else { return nil }
        let slashBefore = rest[..<firstAt].contains("/")
        guard ats.count > 1 || slashBefore else { return nil }
        return "the user or password of this URI holds an unencoded \"@\" or \"/\"; percent-encode them (@ as %40, / as %2F, : as %3A) or use the key=value form"
    }

    /// The options whose values are secrets.
    static let secretOptions = ["password", "sslpassword"]

    /// libpq's parse errors quote fragments of the input (`missing "=" after "s3cret" …`); a
    /// fragment may be part of a password, and may itself hold a `"`: keep only what comes
    /// before the first quote.
    static func withoutQuotedFragments(_ message: String) -> String {
        guard let quote = message.firstIndex(of: "\"") else { return message.trimmingTrailingWhitespace() }
        return String(message[..<quote]).trimmingTrailingWhitespace() + " (the string is not repeated)"
    }
}

extension ConnectionString {
    /// `value` percent-encoded as a URI's user info carries it.
    static func percentEncoded(_ value: String) -> String {
        var result = ""
        for byte in value.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || "-._~".unicodeScalars.contains(scalar) {
                result.unicodeScalars.append(scalar)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return result
    }

    /// `value` as a quoted `key='value'` carries it (backslashes before `'` and `\`).
    static func quoted(_ value: String) -> String {
        var result = ""
        for character in value {
            if character == "'" || character == "\\" { result.append("\\") }
            result.append(character)
        }
        return result
    }
}

extension String {
    /// Every occurrence of `target` replaced; plain substring search (Foundation-free) over
    /// the UTF-8 bytes, not the characters: a secret that starts with a combining mark makes
    /// one character with the space before it in a message, and a search by character misses
    /// it. (A match of well-formed UTF-8 starts and ends on scalar boundaries.)
    func replacingAll(_ target: String, with replacement: String) -> String {
        let pattern = Array(target.utf8)
        guard let first = pattern.first else { return self }
        let bytes = Array(utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var copied = 0
        var index = 0
        while index + pattern.count <= bytes.count {
            if bytes[index] == first, bytes[index..<index + pattern.count].elementsEqual(pattern) {
                result += bytes[copied..<index]
                result += replacement.utf8
                index += pattern.count
                copied = index
            } else {
                index += 1
            }
        }
        result += bytes[copied...]
        return String(decoding: result, as: UTF8.self)
    }

    func trimmingTrailingWhitespace() -> String {
        var text = self
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}
