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
    /// The libpq handle; `nil` once closed. The mutex also serialises queries on it. The
    /// standard library's Mutex, unlike the NIOLockedValueBox elsewhere: only it holds a value
    /// that is not Sendable (the handle); Thread Sanitizer cannot see its futex (no suite under
    /// it opens a connection).
    private let handle: Mutex<OpaquePointer?>
    /// A `PGcancel` object on its way to the thread that sends the cancel request.
    ///
    /// `@unchecked Sendable` is safe: each object is made (`PQgetCancel`) for one request, handed
    /// to exactly one thread, and freed there after `PQcancel`, which libpq documents as callable
    /// from any thread; nothing else holds the pointer.
    private struct CancelRequest: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// Options for ``connect(to:options:)``.
    public struct Options: Sendable {
        /// Sent as `fallback_application_name`: used unless the connection string sets its own.
        public var applicationName: String
        /// How long connecting may take, the host name lookup included (unless the
        /// connection string sets libpq's own `connect_timeout`, in whole seconds).
        public var connectTimeout: Duration

        public init(applicationName: String = "pgstack_exporter", connectTimeout: Duration = .seconds(5)) {
            self.applicationName = applicationName
            self.connectTimeout = connectTimeout
        }
    }

    private init(raw: sending OpaquePointer, server: ServerInfo, connectionString: ConnectionString) {
        self.server = server
        self.connectionString = connectionString
        self.handle = Mutex(raw)
    }

    deinit {
        close()
    }

    /// Opens a connection (blocking), giving up at `deadline` or after the connect timeout,
    /// whichever is first: libpq's non-blocking connect (`PQconnectStartParams` and
    /// `PQconnectPoll`) waited on with `poll(2)`, host names looked up first within the same
    /// bound (``HostLookup``). No startup `options` and no `SET` are sent, so the same call
    /// works for PgBouncer's admin console.
    /// - Throws: ``PostgresError`` (``PostgresError/Kind/connectionFailed``), message redacted.
    public static func connect(
        to connectionString: ConnectionString, options: Options = Options(), deadline: ContinuousClock.Instant? = nil
    ) throws -> Connection {
        var until = ContinuousClock.now + options.connectTimeout
        if let configured = connectionString.options["connect_timeout"].flatMap(Int.init), configured > 0, configured < 86_400 {
            until = ContinuousClock.now + .seconds(configured)
        }
        if let deadline { until = min(until, deadline) }
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
        if connectionString.options["hostaddr"] == nil, let hosts = connectionString.options["host"] ?? environmentValue("PGHOST"),
           let expanded = try HostLookup.expand(hosts: hosts, ports: connectionString.options["port"] ?? environmentValue("PGPORT"), deadline: until) {
            parameters += [("host", expanded.hosts), ("hostaddr", expanded.addresses)]
            if let ports = expanded.ports { parameters.append(("port", ports)) }
        }
        let started = withCStringArrays(parameters) { keywords, values in
            PQconnectStartParams(keywords, values, 1)
        }
        guard let raw = started else {
            throw PostgresError(kind: .connectionFailed, message: "out of memory while connecting")
        }
        if let failure = waitForConnection(raw, until: until) {
            PQfinish(raw)
            throw PostgresError(kind: .connectionFailed, message: connectionString.redact(failure))
        }
        let versionText = PQparameterStatus(raw, "server_version").map { String(cString: $0) } ?? ""
        let server = ServerInfo(versionNumber: Int(PQserverVersion(raw)), versionText: versionText)
        return Connection(raw: raw, server: server, connectionString: connectionString)
    }

    /// Drives a started connection to its end: `nil` once it is made, else why not.
    private static func waitForConnection(_ raw: OpaquePointer, until: ContinuousClock.Instant) -> String? {
        guard PQstatus(raw) != CONNECTION_BAD else { return libpqMessage(PQerrorMessage(raw)) }
        var state = PGRES_POLLING_WRITING
        while true {
            switch state {
            case PGRES_POLLING_OK:
                return nil
            case PGRES_POLLING_FAILED:
                return libpqMessage(PQerrorMessage(raw))
            default:
                let events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT
                switch waitForSocket(PQsocket(raw), events: Int16(events), until: until) {
                case .ready: break
                case .timedOut: return "timeout expired while connecting"
                case .failed: return "waiting for the connection failed (errno \(errno))"
                }
            }
            state = PQconnectPoll(raw)
        }
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
    /// timer task and no thread hop per query. When `deadline` passes the query is cancelled
    /// (`PQcancel`, sent from a thread of its own); if the server does not answer the cancel
    /// within `cancelGrace`, the connection is closed (then ``isBroken``) rather than left
    /// mid-query, so the wait never outlasts `deadline + cancelGrace`.
    /// - Throws: as ``execute(_:timeout:)``.
    public func executeEach(_ sql: String, deadline: ContinuousClock.Instant, cancelGrace: Duration = .seconds(2)) throws -> [QueryResult] {
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
                        Self.sendCancel(for: connection)
                        giveUpAt = now + cancelGrace
                    }
                    if let giveUpAt, now >= giveUpAt {
                        PQfinish(connection)
                        raw = nil
                        throw PostgresError(kind: .timedOut, message: "the server did not answer a cancel within \(cancelGrace); connection closed")
                    }
                    switch waitForSocket(socket, events: Int16(POLLIN), until: giveUpAt ?? deadline) {
                    case .ready: if PQconsumeInput(connection) != 1 { throw lost() }
                    case .timedOut: break
                    case .failed: throw lost()
                    }
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

    /// What tells this connection's server, role and database from any other's (a secret:
    /// ``ConnectionString/identity``), for results kept per server.
    public var identity: String { connectionString.identity }

    /// Whether libpq considers the connection broken (then it must be replaced).
    public var isBroken: Bool {
        handle.withLock { raw in raw.map { PQstatus($0) != CONNECTION_OK } ?? true }
    }

    /// Asks the server to cancel the query running on `connection`, from a thread of its own
    /// (``DetachedCall``): libpq 15's `PQcancel` blocks until the server closes the cancel
    /// socket, forever if the server is frozen. The query's own wait stays bounded.
    private static func sendCancel(for connection: OpaquePointer) {
        guard let pointer = PQgetCancel(connection) else { return }
        let request = CancelRequest(pointer: pointer)
        let started = DetachedCall.start {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(request.pointer, &buffer, Int32(buffer.count))
            PQfreeCancel(request.pointer)
        }
        if !started { PQfreeCancel(pointer) }
    }

    /// Closes the connection (sends Terminate). Safe to call more than once.
    public func close() {
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

/// What waiting for a socket came to.
private enum SocketWait { case ready, timedOut, failed }

/// Waits until `socket` is ready for `events` or `until` passes (`poll(2)`, retried on EINTR).
private func waitForSocket(_ socket: Int32, events: Int16, until: ContinuousClock.Instant) -> SocketWait {
    while true {
        let wait = until - .now
        guard wait > .zero else { return .timedOut }
        let milliseconds = Int32(clamping: wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1)
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready > 0 { return .ready }
        if ready < 0 && errno != EINTR { return .failed }
    }
}

/// An environment variable's value, or `nil` when unset or empty.
private func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
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
