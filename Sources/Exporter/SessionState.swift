/// The collectors' statements prepared on one PostgreSQL session of the exporter (`PREPARE`),
/// and how each text sent on it is made.
///
/// Prepared statements are why it exists: the same few dozen statements run on every scrape,
/// and planning them (the `pg_stat_*` views are joins of functions and catalogs) costs the
/// server more than running them (docs/performance.md). Prepared once per session with SQL `PREPARE` (the simple
/// query protocol still: one text, one round trip), they run as `EXECUTE` with a plan cached on
/// the server. Statements without parameters get a generic plan at once; the server replans by
/// itself when a catalog they read changes.
struct SessionState: Sendable {
    /// Prepared statements by SQL text.
    private var prepared: [String: String] = [:]
    /// After a failed text some of its `PREPARE`s may have taken effect (they are not undone
    /// by the rollback): the next text starts from `DEALLOCATE ALL`.
    private var mustDeallocate = false
    /// Off for a session where a prepared statement vanished (a transaction-pooling PgBouncer
    /// between the exporter and PostgreSQL hands each transaction another server session).
    private(set) var preparing = true

    /// More would mean statements built anew each scrape: those are sent as they are.
    static let maximumPrepared = 200

    /// One text of `statements`, with what the session needs first.
    struct Text {
        let sql: String
        /// Which results of the text are the statements' (the others answer `SET`, `PREPARE`, …).
        let statementResults: [Int]
        /// The number of results the text returns.
        let resultCount: Int
        fileprivate let newlyPrepared: [(sql: String, name: String)]
    }

    /// Makes the text that runs `statements` with `settings` in force: the settings first (in
    /// every text: `SET LOCAL` lasts as long as the text's transaction, so the exporter's
    /// timeouts never stay on a session, which matters where a pooler shares it), then each
    /// statement as `EXECUTE` of a prepared one (prepared first if new) when it can be
    /// prepared, as itself otherwise.
    func text(for statements: [String], settings: [String]) -> Text {
        var parts: [String] = []
        var statementResults: [Int] = []
        var newlyPrepared: [(sql: String, name: String)] = []
        if mustDeallocate { parts.append("DEALLOCATE ALL") }
        parts += settings
        for statement in statements {
            let sql = String(Self.withoutTerminator(statement))
            if let name = prepared[sql] ?? newlyPrepared.first(where: { $0.sql == sql })?.name {
                parts.append("EXECUTE \(name)")
            } else if preparing, Self.canPrepare(sql), prepared.count + newlyPrepared.count < Self.maximumPrepared {
                let name = Self.name(for: sql)
                newlyPrepared.append((sql, name))
                parts.append("PREPARE \(name) AS \(sql)")
                parts.append("EXECUTE \(name)")
            } else {
                parts.append(sql)
            }
            statementResults.append(parts.count - 1)
        }
        return Text(
            sql: parts.joined(separator: "\n;\n"), statementResults: statementResults, resultCount: parts.count,
            newlyPrepared: newlyPrepared)
    }

    /// Records that `text` ran to its end.
    mutating func succeeded(_ text: Text) {
        mustDeallocate = false
        for (sql, name) in text.newlyPrepared { prepared[sql] = name }
    }

    /// Records that a text failed with `sqlState`: some of its `PREPARE`s may have taken
    /// effect (the rollback does not undo them), so the session is cleared before the next text — unless it is shared (``meansSharedSession(_:)``): then
    /// preparing stops for good, and nothing is deallocated on a session others use.
    mutating func failed(sqlState: String?) {
        prepared.removeAll()
        if Self.meansSharedSession(sqlState) { preparing = false }
        mustDeallocate = preparing
    }

    /// Whether an error says that the server session is not the exporter's alone from one
    /// transaction to the next, as behind a transaction-pooling PgBouncer: a statement it
    /// prepared is missing (26000), or a name it had not prepared yet exists (42P05).
    static func meansSharedSession(_ sqlState: String?) -> Bool {
        sqlState == "26000" || sqlState == "42P05"
    }

    /// The name a statement is prepared under: from its text (64-bit FNV-1a), so that the same
    /// statement has the same name in every session and two statements never share one — even
    /// where sessions are shared between exporters.
    static func name(for sql: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return "pgstack_" + String(hash, radix: 16)
    }

    /// Only queries can be prepared (`SHOW`, `SET` cannot).
    private static func canPrepare(_ sql: String) -> Bool {
        let head = sql.drop(while: \.isWhitespace).prefix(6).uppercased()
        return head.hasPrefix("SELECT") || head.hasPrefix("WITH") || head.hasPrefix("VALUES")
    }

    /// `sql` without trailing `;` and blanks, so that statements can be joined with `;`.
    private static func withoutTerminator(_ sql: String) -> Substring {
        var text = Substring(sql)
        while let last = text.last, last == ";" || last.isWhitespace { text.removeLast() }
        return text
    }
}
