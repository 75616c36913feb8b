import CLibPQ
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection to a PostgreSQL server or to a PgBouncer admin console.
///
/// Every method **blocks** the calling thread on the network. Call
/// them only from a ``BlockingPool`` thread (``query(_:timeout:on:)`` does this for you), never
/// from a NIO event loop or Swift's cooperative pool: on two cores, two blocking queries there
/// stall the whole process.
///
/// Queries use only libpq's simple query protocol (`PQsendQuery`), the only one the PgBouncer console
/// accepts (the extended protocol makes it drop the connection).
public final class Connection: Sendable {
    /// What answered: PostgreSQL, or the PgBouncer admin console.
    public let server: ServerInfo
    /// The connection string, kept to redact secrets from later error messages.
    private let connectionString: ConnectionString
    /// The libpq handle; `nil` once closed. The mutex also serialises queries on it.
    private let handle: Mutex<OpaquePointer?>
    /// What `PQcancel` needs, freed by ``close()``.
    private let cancelState: Mutex<CancelState>

    /// libpq's `PGcancel` object.
    ///
    /// `@unchecked Sendable` is safe here: libpq documents `PQcancel` as callable from any
    /// thread (it only reads the object and opens its own socket), the object is freed only
    /// under the `cancelState` lock, and every use of it happens under that lock.
    private struct CancelToken: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private struct CancelState: ~Copyable {
        var token: CancelToken?
    }

    /// Options for ``connect(to:options:)``.
    public struct Options: Sendable {
        /// Sent as `fallback_application_name`: used unless the connection string sets its own.
        public var applicationName: String
        /// libpq's `connect_timeout`, whole seconds; libpq treats values below 2 as 2.
        public var connectTimeoutSeconds: Int

        public init(applicationName: String = "pgstack_exporter", connectTimeoutSeconds: Int = 5) {
            self.applicationName = applicationName
            self.connectTimeoutSeconds = connectTimeoutSeconds
        }
    }

    private init(raw: sending OpaquePointer, cancelToken: CancelToken?, server: ServerInfo, connectionString: ConnectionString) {
        self.server = server
        self.connectionString = connectionString
        self.handle = Mutex(raw)
        self.cancelState = Mutex(CancelState(token: cancelToken))
    }

    deinit {
        close()
    }

    /// Opens a connection (blocking). No startup `options` and no `SET` are sent, so the same
    /// call works for PgBouncer's admin console.
    /// - Throws: ``PostgresError`` (``PostgresError/Kind/connectionFailed``), message redacted.
    public static func connect(to connectionString: ConnectionString, options: Options = Options()) throws -> Connection {
        var parameters: [(String, String)] = [
            ("dbname", connectionString.raw),  // expanded by libpq (expand_dbname = 1)
            ("fallback_application_name", options.applicationName),
        ]
        if let database = connectionString.separateDatabase {
            parameters.append(("dbname", database))  // a second dbname is not expanded: it overrides
        }
        if let password = connectionString.separatePassword {
            parameters.append(("password", password))
        }
        if connectionString.options["connect_timeout"] == nil {
            parameters.append(("connect_timeout", String(max(2, options.connectTimeoutSeconds))))
        }
        let raw = withCStringArrays(parameters) { keywords, values in
            PQconnectdbParams(keywords, values, 1)
        }
        guard let raw else {
            throw PostgresError(kind: .connectionFailed, message: "out of memory while connecting")
        }
        guard PQstatus(raw) == CONNECTION_OK else {
            let message = libpqMessage(PQerrorMessage(raw))
            PQfinish(raw)
            throw PostgresError(kind: .connectionFailed, message: connectionString.redact(message))
        }
        let versionText = PQparameterStatus(raw, "server_version").map { String(cString: $0) } ?? ""
        let server = ServerInfo(versionNumber: Int(PQserverVersion(raw)), versionText: versionText)
        let cancelToken = PQgetCancel(raw).map(CancelToken.init)
        return Connection(raw: raw, cancelToken: cancelToken, server: server, connectionString: connectionString)
    }

    /// Runs `sql` and returns the last statement's rows (``executeEach(_:deadline:cancelGrace:)``
    /// with a deadline of `timeout` from now).
    /// - Throws: ``PostgresError``: ``PostgresError/Kind/queryFailed`` when the server answered
    ///   with an error, ``PostgresError/Kind/timedOut`` when it was cancelled,
    ///   ``PostgresError/Kind/connectionLost`` when the connection broke.
    public func execute(_ sql: String, timeout: Duration = .seconds(60)) throws -> QueryResult {
        try executeEach(sql, deadline: .now + timeout).last ?? QueryResult(columns: [], rows: [])
    }

    /// The rows of a finished statement, or the error it ended with.
    private func outcome(of result: OpaquePointer, on raw: OpaquePointer) throws -> QueryResult {
        let status = PQresultStatus(result)
        if status == PGRES_TUPLES_OK {
            return Self.rows(of: result)
        }
        if status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY {
            return QueryResult(columns: [], rows: [])
        }
        throw error(from: result, on: raw)
    }

    /// Runs a text of one or more `;`-separated statements in one round trip and returns each
    /// statement's rows, in order (a statement without rows, such as `SET`, gives an empty
    /// result). The server runs them in one implicit transaction and stops at the first error,
    /// which is thrown.
    ///
    /// The wait is `poll(2)` on the connection's socket, on the calling (blocking) thread: no
    /// timer task, no second thread and no extra hop per query, which is most of what a query
    /// used to cost the exporter in CPU (measured with perf: thread wake-ups and timer
    /// registrations, not libpq). When `deadline` passes the query is cancelled (`PQcancel`);
    /// if the server does not answer the cancel within `cancelGrace`, the connection is closed
    /// (then ``isBroken``) rather than left mid-query.
    /// - Throws: as ``execute(_:timeout:)``.
    public func executeEach(_ sql: String, deadline: ContinuousClock.Instant, cancelGrace: Duration = .seconds(5)) throws -> [QueryResult] {
        try handle.withLock { raw throws -> [QueryResult] in
            guard let connection = raw else {
                throw PostgresError(kind: .connectionLost, message: "connection is closed")
            }
            let lost = { PostgresError(kind: .connectionLost, message: self.connectionString.redact(Self.libpqMessage(PQerrorMessage(connection)))) }
            guard PQsendQuery(connection, sql) == 1 else { throw lost() }
            let socket = PQsocket(connection)
            var giveUpAt: ContinuousClock.Instant?
            var results: [QueryResult] = []
            // The server runs nothing after an error, but libpq must still be read to its end.
            var firstError: PostgresError?
            while true {
                while PQisBusy(connection) == 1 {
                    let now = ContinuousClock.now
                    if giveUpAt == nil, now >= deadline {
                        cancelState.withLock { state in
                            guard let token = state.token else { return }
                            var buffer = [CChar](repeating: 0, count: 256)
                            _ = PQcancel(token.pointer, &buffer, Int32(buffer.count))
                        }
                        giveUpAt = now + cancelGrace
                    }
                    if let giveUpAt, now >= giveUpAt {
                        PQfinish(connection)
                        raw = nil
                        throw PostgresError(kind: .timedOut, message: "the server did not answer a cancel within \(cancelGrace); connection closed")
                    }
                    let wait = (giveUpAt ?? deadline) - now
                    let milliseconds = Int32(clamping: max(1, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1))
                    var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&descriptor, 1, milliseconds)
                    if ready < 0, errno != EINTR { throw lost() }
                    if ready > 0, PQconsumeInput(connection) != 1 { throw lost() }
                }
                guard let next = PQgetResult(connection) else { break }
                defer { PQclear(next) }
                if firstError == nil {
                    do {
                        results.append(try outcome(of: next, on: connection))
                    } catch let error as PostgresError {
                        firstError = error
                    }
                }
            }
            if let firstError { throw firstError }
            guard !results.isEmpty else { throw lost() }
            return results
        }
    }

    /// Where this connection points, safe to show and to key by: `host:port/dbname user=…`.
    public var endpoint: String { connectionString.redacted }

    /// Whether libpq considers the connection broken (then it must be replaced).
    public var isBroken: Bool {
        handle.withLock { raw in raw.map { PQstatus($0) != CONNECTION_OK } ?? true }
    }

    /// Closes the connection (sends Terminate). Safe to call more than once.
    public func close() {
        cancelState.withLock { state in
            if let token = state.token { PQfreeCancel(token.pointer) }
            state.token = nil
        }
        handle.withLock { raw in
            if let current = raw { PQfinish(current) }
            raw = nil
        }
    }

    // MARK: - Results and errors

    private static func rows(of result: OpaquePointer) -> QueryResult {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let bytes = UnsafeRawPointer(PQgetvalue(result, row, column)!).assumingMemoryBound(to: UInt8.self)
                    values.append(decodeText(UnsafeBufferPointer(start: bytes, count: length)))
                }
            }
            rows.append(values)
        }
        return QueryResult(columns: columns, rows: rows)
    }

    /// Decodes server text as UTF-8, replacing ill-formed sequences with U+FFFD, so a database
    /// in `SQL_ASCII` with stray bytes can never produce invalid exposition output.
    static func decodeText(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    private func error(from result: OpaquePointer, on raw: OpaquePointer) -> PostgresError {
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
        let message = connectionString.redact(primary ?? Self.libpqMessage(PQresultErrorMessage(result)))
        if PQstatus(raw) != CONNECTION_OK {
            return PostgresError(kind: .connectionLost, sqlState: sqlState, message: message)
        }
        if sqlState == "57014" {  // query_canceled: our cancel or statement_timeout
            return PostgresError(kind: .timedOut, sqlState: sqlState, message: message)
        }
        return PostgresError(kind: .queryFailed, sqlState: sqlState, message: message)
    }

    /// libpq messages end in a newline and may span lines ("…failed: Connection refused\n\tIs
    /// the server running…"); make them one line.
    private static func libpqMessage(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown libpq error" }
        let lines = String(cString: text).split(whereSeparator: \.isNewline)
        let message = lines.map { $0.trimmingPrefixWhitespace() }.joined(separator: " ")
        return message.isEmpty ? "unknown libpq error" : message
    }
}

extension Substring {
    fileprivate func trimmingPrefixWhitespace() -> Substring {
        drop(while: \.isWhitespace)
    }
}

/// Calls `body` with NULL-terminated C arrays of keywords and values, as `PQconnectdbParams` wants.
private func withCStringArrays<R>(
    _ pairs: [(String, String)],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    let keywords = pairs.map { strdup($0.0) } + [nil]
    let values = pairs.map { strdup($0.1) } + [nil]
    defer {
        keywords.forEach { free($0) }
        values.forEach { free($0) }
    }
    let constKeywords = keywords.map { $0.map { UnsafePointer($0) } }
    let constValues = values.map { $0.map { UnsafePointer($0) } }
    return constKeywords.withUnsafeBufferPointer { k in
        constValues.withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) }
    }
}
