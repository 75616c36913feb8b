/// Durations as operators write them in flags, config files and URLs, Go-style: `500ms`,
/// `10s`, `1m30s`, `2h`; a bare number means seconds.
///
/// Every duration that comes from input goes through here, range-checked, so none can reach
/// an arithmetic trap: `inf`, `nan`, `1e16` and `99999999999999999h` are refused, not converted.
public enum DurationText {
    /// The longest duration accepted: a year, longer than any timeout or age makes sense for.
    public static let longest: Duration = .seconds(366 * 24 * 3600)

    /// Parses `text`, or returns `nil` if it is not a duration in `0...longest`.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { return nil }
        if let seconds = Double(trimmed) { return duration(seconds: seconds) }
        var total = 0.0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let number = rest.prefix { ("0"..."9").contains($0) || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard let scale = unitSeconds[String(unit)] else { return nil }
            total += value * scale
        }
        return duration(seconds: total)
    }

    /// `seconds` as a duration, or `nil` when it is negative, not finite or over ``longest``.
    public static func duration(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds <= Self.seconds(longest) else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Parses a setting's value: a duration over zero and at most ``longest``; the error
    /// says which rule `text` broke, in words for the operator.
    public static func positive(_ text: String) -> Result<Duration, SettingProblem> {
        guard let duration = parse(text) else {
            let number = Double(text.trimmingWhitespace())
            if number.map({ $0.isFinite && $0 < 0 }) == true || text.trimmingWhitespace().hasPrefix("-") {
                return .failure(SettingProblem("must not be negative"))
            }
            if number != nil || text.contains(where: { ("0"..."9").contains($0) }) {
                return .failure(SettingProblem("is not a duration between 1ms and 366 days (write e.g. 500ms, 5s, 1m)"))
            }
            return .failure(SettingProblem("is not a duration (write e.g. 500ms, 5s, 1m)"))
        }
        guard duration > .zero else { return .failure(SettingProblem("must be longer than zero")) }
        return .success(duration)
    }

    private static let unitSeconds: [String: Double] = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400]

    /// `duration` in seconds, as a `Double`.
    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Why a setting's value was refused, in a few words (never repeating a secret).
public struct SettingProblem: Error, Sendable, Equatable {
    public let text: String

    public init(_ text: String) {
        self.text = text
    }
}

extension StringProtocol {
    /// The text without leading or trailing white space (newlines included).
    public func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension DurationText {
    /// `duration` as a setting would be written: `500ms`, `5s`, `10m`, `2h`.
    public static func text(_ duration: Duration) -> String {
        let milliseconds = Int64(seconds(duration) * 1000)
        if milliseconds % 1000 != 0 { return "\(milliseconds)ms" }
        let wholeSeconds = milliseconds / 1000
        if wholeSeconds % 3600 == 0 { return "\(wholeSeconds / 3600)h" }
        if wholeSeconds % 60 == 0 { return "\(wholeSeconds / 60)m" }
        return "\(wholeSeconds)s"
    }
}
