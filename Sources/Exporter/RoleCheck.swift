import Collectors
import PostgresClient

/// What a load balancer or an application router asks of a target (`/ready`, `/primary`,
/// `/replica`).
public enum RoleQuestion: String, Sendable, CaseIterable {
    /// Does it answer at all (`SELECT 1`, or `SHOW VERSION` on PgBouncer)?
    case ready
    /// Is it a PostgreSQL primary (reachable and not in recovery)?
    case primary
    /// Is it a streaming standby (reachable, in recovery, WAL receiver streaming), and within
    /// the lag asked for?
    case replica
}

/// The answer to a ``RoleQuestion``, with the facts it rests on.
public struct RoleAnswer: Sendable, Equatable {
    public let target: String
    public let question: RoleQuestion
    /// Whether the target is fit for the role (HTTP 200) or not (503).
    public let ok: Bool
    /// `primary`, `replica` or `pgbouncer`, when the target answered.
    public var role: String?
    /// Whether a standby's WAL receiver is streaming.
    public var streaming: Bool?
    /// A standby's replication lag (as `pg_replication_lag_seconds`).
    public var lagSeconds: Double?
    /// Why, in a few words.
    public let reason: String

    /// The answer as one line of JSON.
    public var json: String {
        var fields: [(String, String)] = [
            ("target", JSONText.quoted(target)), ("check", JSONText.quoted(question.rawValue)), ("ok", ok ? "true" : "false"),
        ]
        if let role { fields.append(("role", JSONText.quoted(role))) }
        if let streaming { fields.append(("streaming", streaming ? "true" : "false")) }
        if let lagSeconds { fields.append(("lag_seconds", lagSeconds.description)) }
        fields.append(("reason", JSONText.quoted(reason)))
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n"
    }
}

/// JSON string literals, for the role checks' answers and the JSON log format.
public enum JSONText {
    /// `text` as a JSON string literal, quotes and control characters escaped.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

extension TargetScraper {
    /// Answers `question` from a fresh query on the target's pooled connection (never from a
    /// scrape's possibly stale result), within the target's check timeout.
    func answer(_ question: RoleQuestion, maxLag: Duration?) async -> RoleAnswer {
        let name = target.name
        let deadline = ContinuousClock.now + target.limits.checkTimeout
        do {
            if target.kind == .pgbouncer {
                _ = try await withRunner(deadline: deadline, timeout: target.limits.checkTimeout) { try await $0.query("SHOW VERSION") }
                return RoleAnswer(target: name, question: question, ok: true, role: "pgbouncer", reason: "PgBouncer answers SHOW VERSION")
            }
            let row = try await withRunner(deadline: deadline, timeout: target.limits.checkTimeout) { runner in
                try await runner.query(Self.roleSQL)
            }.rows.first ?? []
            let inRecovery = row.first.flatMap { $0 }.flatMap(parseNumber) == 1
            let streaming = row.count > 1 && row[1] == "streaming"
            let lag = row.count > 2 ? row[2].flatMap(parseNumber) : nil
            var answer = RoleAnswer(target: name, question: question, ok: false, reason: "")
            answer.role = inRecovery ? "replica" : "primary"
            if inRecovery {
                answer.streaming = streaming
                answer.lagSeconds = lag
            }
            return judge(answer, question: question, maxLag: maxLag)
        } catch {
            let failure = error as? PostgresError ?? PostgresError(kind: .queryFailed, message: "\(error)")
            noteCheckFailure(failure)
            return RoleAnswer(target: name, question: question, ok: false, reason: Self.shortReason(failure))
        }
    }

    /// What the answer's body says of a failure: its kind in a few words, never libpq's text
    /// (which names hosts and addresses); the details go to the log.
    static func shortReason(_ failure: PostgresError) -> String {
        switch failure.kind {
        case .connectionFailed, .invalidConnectionString: "unreachable: cannot connect (details in the exporter's log)"
        case .connectionLost: "unreachable: connection lost (details in the exporter's log)"
        case .timedOut: "unreachable: no answer within the check timeout"
        case .queryFailed: "the check query failed" + (failure.sqlState.map { " (SQLSTATE \($0))" } ?? "")
        }
    }

    private func judge(_ facts: RoleAnswer, question: RoleQuestion, maxLag: Duration?) -> RoleAnswer {
        let (ok, reason): (Bool, String)
        switch question {
        case .ready:
            (ok, reason) = (true, "answers queries")
        case .primary:
            (ok, reason) = facts.role == "primary" ? (true, "primary, not in recovery") : (false, "in recovery: a standby")
        case .replica:
            if facts.role != "replica" {
                (ok, reason) = (false, "not in recovery: a primary")
            } else if facts.streaming != true {
                (ok, reason) = (false, "WAL receiver is not streaming")
            } else if let maxLag, (facts.lagSeconds ?? .infinity) > DurationText.seconds(maxLag) {
                (ok, reason) = (false, "lag \(facts.lagSeconds.map { "\($0)" } ?? "unknown") s is over \(DurationText.seconds(maxLag)) s")
            } else {
                (ok, reason) = (true, "streaming standby")
            }
        }
        var answer = RoleAnswer(target: facts.target, question: question, ok: ok, reason: reason)
        answer.role = facts.role
        answer.streaming = facts.streaming
        answer.lagSeconds = facts.lagSeconds
        return answer
    }

    /// Role, receiver state and lag in one round trip.
    static let roleSQL = """
        WITH receiver AS (SELECT status, last_msg_receipt_time FROM pg_stat_wal_receiver)
        SELECT pg_is_in_recovery() AS in_recovery, (SELECT status FROM receiver) AS receiver_status,
               \(standbyLagSecondsSQL) AS lag_seconds
        """
}
