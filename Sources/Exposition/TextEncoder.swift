/// Writes families in the Prometheus text exposition format, version 0.0.4.
///
/// Written by hand rather than with swift-prometheus: this exporter builds fresh families with
/// fresh label sets on every scrape, which that library's long-lived registry handles in
/// O(n²) time (measured 57 ms–3.9 s per 10k series against ~5 ms here), and it lacks untyped
/// metrics, stable family order and the `\n` escape in HELP. The format itself is small:
/// <https://prometheus.io/docs/instrumenting/exposition_formats/>.
///
/// Pass families through ``FamilySet`` first: the encoder writes what it is given.
public enum TextEncoder {
    /// The `Content-Type` of what ``encode(_:)`` writes.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Encodes `families` (each written whole and once, `# HELP` and `# TYPE` first).
    public static func encode(_ families: [MetricFamily]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.reduce(0) { $0 + estimatedSize(of: $1) })
        for family in families {
            append(family, to: &out)
        }
        return out
    }

    /// About the bytes `family` takes, from its first sample: one allocation for the whole
    /// output instead of a series of doublings and copies.
    static func estimatedSize(of family: MetricFamily) -> Int {
        let header = 2 * family.name.utf8.count + family.help.utf8.count + 32
        guard let first = family.samples.first else { return header }
        let labels = first.labels.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        return header + family.samples.count * (family.name.utf8.count + labels + 24)
    }

    /// Appends one family to `out`.
    public static func append(_ family: MetricFamily, to out: inout [UInt8]) {
        out.append(contentsOf: "# HELP ".utf8)
        out.append(contentsOf: family.name.utf8)
        out.append(.space)
        appendEscaped(family.help, escapingQuotes: false, to: &out)
        out.append(.newline)
        out.append(contentsOf: "# TYPE ".utf8)
        out.append(contentsOf: family.name.utf8)
        out.append(.space)
        out.append(contentsOf: family.type.rawValue.utf8)
        out.append(.newline)
        for sample in family.samples {
            appendRaw(family.name, to: &out)
            if !sample.labels.isEmpty {
                out.append(UInt8(ascii: "{"))
                for (position, label) in sample.labels.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    appendRaw(label.name, to: &out)
                    out.append(contentsOf: "=\"".utf8)
                    appendEscaped(label.value, escapingQuotes: true, to: &out)
                    out.append(UInt8(ascii: "\""))
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(.space)
            appendValue(sample.value, to: &out)
            out.append(.newline)
        }
    }

    /// A sample value as Prometheus spells it: `+Inf`, `-Inf`, `NaN`, whole numbers without a
    /// fraction, anything else in Swift's shortest round-tripping form (`0.25`, `1e-07`).
    public static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return value.description
    }

    /// Appends ``formatValue(_:)`` of `value`; whole numbers are written digit by digit,
    /// without the `String` that formatting would allocate for every sample.
    static func appendValue(_ value: Double, to out: inout [UInt8]) {
        // NaN fails the first test, the infinities the second.
        guard value == value.rounded(.towardZero), abs(value) < 1e15 else {
            out.append(contentsOf: formatValue(value).utf8)
            return
        }
        let whole = Int64(value)
        var magnitude = whole.magnitude
        if whole < 0 { out.append(UInt8(ascii: "-")) }
        if magnitude < 10 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        // At most 15 digits (|value| < 1e15): written backwards into a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { digits in
            var start = digits.count
            while magnitude > 0 {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Escapes `\` and newline (and `"` in label values), per the text format.
    static func appendEscaped(_ text: String, escapingQuotes: Bool, to out: inout [UInt8]) {
        var text = text  // withUTF8 needs a var; a native string is not copied
        text.withUTF8 { bytes in
            // Fast path: most label values need no escape and are copied whole.
            var clean = true
            for byte in bytes where byte == .backslash || byte == .newline || (escapingQuotes && byte == .quote) {
                clean = false
                break
            }
            guard !clean else {
                out.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case .backslash: out.append(contentsOf: "\\\\".utf8)
                case .newline: out.append(contentsOf: "\\n".utf8)
                case .quote where escapingQuotes: out.append(contentsOf: "\\\"".utf8)
                default: out.append(byte)
                }
            }
        }
    }

    /// Appends the UTF-8 of `text` (a metric or label name) with one copy.
    static func appendRaw(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }
}

extension UInt8 {
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let newline = UInt8(ascii: "\n")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let quote = UInt8(ascii: "\"")
}
