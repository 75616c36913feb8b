/// Durations as operators write them in flags and config files, Go-style: `500ms`, `10s`,
/// `1m30s`, `2h`; a bare number means seconds.
public enum DurationText {
    /// Parses `text`, or returns `nil` if it is not a duration.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        if let seconds = Double(trimmed) { return seconds >= 0 ? .milliseconds(Int64((seconds * 1000).rounded())) : nil }
        var total = 0.0
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard let scale = unitSeconds[String(unit)] else { return nil }
            total += value * scale
        }
        return .milliseconds(Int64((total * 1000).rounded()))
    }

    private static let unitSeconds: [String: Double] = ["ms": 0.001, "s": 1, "m": 60, "h": 3600]

    /// `duration` in seconds, as a `Double`.
    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension StringProtocol {
    /// The text without leading or trailing white space (newlines included).
    public func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
