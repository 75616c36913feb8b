import PostgresClient

/// What an error message may repeat of a value the operator wrote. A value that may be a
/// secret typed in the wrong place (it names a password or secret, looks like a connection
/// string, is long or spans lines) is not repeated: the message says only its length.
public enum ShownValue {
    /// `value` in quotes, or a note that it is not shown.
    public static func quoted(_ value: some StringProtocol) -> String {
        isSafe(value) ? "\"\(value)\"" : "(a value of \(value.count) characters, not shown: it may hold a secret)"
    }

    /// A key or name for a field path: itself, or `(a key not shown)`.
    public static func name(_ value: some StringProtocol) -> String {
        isSafe(value) ? String(value) : "(a key not shown)"
    }

    /// A file path the operator named: itself, unless it does not look like a path.
    public static func path(_ value: some StringProtocol) -> String {
        let looksLikePath = value.count <= 256 && !value.contains(where: { $0.isWhitespace || "=@".contains($0) }) && !value.contains("://")
        return looksLikePath ? String(value) : "(a path that is not shown: it may hold a secret)"
    }

    static func isSafe(_ value: some StringProtocol) -> Bool {
        let lower = value.lowercased()
        return value.count <= 64 && !value.contains(where: \.isNewline) && !["pass", "secret", "pwd"].contains(where: lower.contains)
            && !ConnectionString.looksLikeConnectionString(value)
    }
}
