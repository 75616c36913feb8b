import Exporter
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// How log lines are written.
enum LogFormat: String, CaseIterable, Sendable {
    /// `time=… level=info msg="…" key=value`
    case logfmt
    /// One JSON object per line.
    case json
}

/// Writes one line per event to standard error, as logfmt or JSON.
///
/// swift-log ships only a fixed-format stream handler, so the two formats operators expect
/// from Prometheus exporters are written here.
struct LineLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let format: LogFormat

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("time", Self.timestamp()),
            ("level", event.level.prometheusName),
            ("msg", event.message.description),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            fields.append((key, "\(merged[key]!)"))
        }
        var line = format == .json ? Self.json(fields) : Self.logfmt(fields)
        line += "\n"
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func logfmt(_ fields: [(String, String)]) -> String {
        fields.map { key, value in
            let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
            return needsQuotes ? "\(key)=\(quoted(value))" : "\(key)=\(value)"
        }.joined(separator: " ")
    }

    static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(quoted($0.0)):\(quoted($0.1))" }.joined(separator: ",") + "}"
    }

    /// A double-quoted string with JSON escapes (also valid logfmt).
    static func quoted(_ text: String) -> String {
        JSONText.quoted(text)
    }

    /// UTC time, RFC 3339 with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let millis = Int32(now.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(millis, 3))Z"
    }
}

extension Logger.Level {
    /// The level names Prometheus' own tools use (`warn`, not `warning`).
    var prometheusName: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "info"
        case .warning: "warn"
        case .error: "error"
        case .critical: "error"
        }
    }

    /// Parses the `--log.level` names (`debug`, `info`, `warn`, `error`, and swift-log's own).
    init?(flag: String) {
        switch flag.lowercased() {
        case "warn": self = .warning
        default:
            guard let level = Logger.Level(rawValue: flag.lowercased()) else { return nil }
            self = level
        }
    }
}
