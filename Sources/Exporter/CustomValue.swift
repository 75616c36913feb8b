import Collectors

/// Reads a custom query's column text as postgres_exporter's user queries did, so that a
/// `queries.yaml` gives the same values here: numbers and booleans, timestamps and dates as
/// seconds since the epoch, durations (`DURATION`) as milliseconds.
///
/// Written by hand: the text protocol gives every value as PostgreSQL prints it (ISO dates,
/// `hh:mm:ss` intervals), and Foundation's date parsers need a fixed format per type anyway.
enum CustomValue {
    /// A number, a boolean (1/0), or an ISO timestamp or date (PostgreSQL's default
    /// `DateStyle`) as seconds since the epoch; `nil` for anything else.
    static func number(_ text: String) -> Double? {
        parseNumber(text) ?? epochSeconds(text)
    }

    /// A duration in milliseconds: a number of milliseconds (what postgres_exporter 0.11
    /// reads), Go's form (`1.5s`, `300ms`, `-2m`, as its later versions read), or PostgreSQL's
    /// interval output (`00:00:01.5`, `3 days 04:05:06`); `-1` means none.
    static func milliseconds(_ text: String) -> Double? {
        let text = text.trimmingWhitespace()
        guard text != "-1", !text.isEmpty, text.utf8.count <= 64 else { return nil }
        return Double(text).flatMap { $0.isFinite ? $0 : nil } ?? goMilliseconds(text) ?? intervalMilliseconds(text)
    }

    private static let goUnits: [(String, Double)] = [
        ("ns", 1e-6), ("us", 1e-3), ("µs", 1e-3), ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000),
    ]

    private static func goMilliseconds(_ text: String) -> Double? {
        var rest = Substring(text)
        let sign: Double = rest.first == "-" ? -1 : 1
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        if rest == "0" { return 0 }
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let scale = goUnits.first(where: { $0.0 == unit })?.1 else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        return total.isFinite ? sign * total : nil
    }

    /// `[N day[s]] [-]hh:mm:ss[.fraction]`, or `N day[s]` alone.
    private static func intervalMilliseconds(_ text: String) -> Double? {
        var words = text.split(separator: " ")
        var days = 0.0
        if words.count >= 2, words[1] == "day" || words[1] == "days", let count = Double(words[0]) {
            days = count
            words.removeFirst(2)
        }
        guard words.count <= 1 else { return nil }
        var clock = 0.0
        if var time = words.first {
            let negative = time.first == "-"
            if negative { time = time.dropFirst() }
            let parts = time.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, let hours = Double(parts[0]), let minutes = Double(parts[1]), let seconds = Double(parts[2]),
                  parts.allSatisfy({ $0.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") } }) else { return nil }
            clock = (hours * 3600 + minutes * 60 + seconds) * (negative ? -1 : 1)
        }
        let total = (days * 86400 + clock) * 1000
        return total.isFinite ? total : nil
    }

    /// `2026-12-01 17:27:10.123456+00`, `2026-12-01 17:27:10` (taken as UTC) or `2026-12-01`.
    static func epochSeconds(_ text: String) -> Double? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 10, utf8.count <= 40, utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-"),
              let year = digits(utf8, 0, 4), let month = digits(utf8, 5, 2), let day = digits(utf8, 8, 2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86400
        guard utf8.count > 10 else { return seconds }
        guard utf8.count >= 19, utf8[10] == UInt8(ascii: " ") || utf8[10] == UInt8(ascii: "T"),
              let hour = digits(utf8, 11, 2), let minute = digits(utf8, 14, 2), let second = digits(utf8, 17, 2),
              hour < 24, minute < 60, second < 61 else { return nil }
        seconds += Double(hour * 3600 + minute * 60 + second)
        var index = 19
        if index < utf8.count, utf8[index] == UInt8(ascii: ".") {
            let start = index + 1
            index = start
            while index < utf8.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[index]) { index += 1 }
            guard index > start, let fraction = Double("0." + String(decoding: utf8[start..<index], as: UTF8.self)) else { return nil }
            seconds += fraction
        }
        guard index < utf8.count else { return seconds }
        // The zone: +hh, +hh:mm or +hh:mm:ss (or Z).
        if utf8[index] == UInt8(ascii: "Z"), index + 1 == utf8.count { return seconds }
        guard utf8[index] == UInt8(ascii: "+") || utf8[index] == UInt8(ascii: "-") else { return nil }
        let sign: Double = utf8[index] == UInt8(ascii: "-") ? -1 : 1
        let zone = String(decoding: utf8[(index + 1)...], as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(zone.count), zone.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isNumber) }) else { return nil }
        let offset = zone.compactMap { Double($0) }.enumerated().reduce(0.0) { $0 + $1.element * [3600, 60, 1][$1.offset] }
        return seconds - sign * offset
    }

    private static func digits(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[start..<start + count] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
