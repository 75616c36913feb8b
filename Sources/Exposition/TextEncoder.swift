/// Writes families in the Prometheus text exposition format, version 0.0.4.
///
/// Written by hand rather than with swift-prometheus: this exporter builds fresh families with
/// fresh label sets on every scrape, which that library's long-lived registry handles in
/// quadratic time, and it lacks untyped metrics, stable family order and the `\n` escape in
/// HELP. The format itself is small:
/// <https://prometheus.io/docs/instrumenting/exposition_formats/>.
///
/// Pass families through ``FamilySet`` first: the encoder writes what it is given.
public enum TextEncoder {
    /// The `Content-Type` of what ``encode(_:)`` writes.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Encodes `families` (each written whole and once, `# HELP` and `# TYPE` first).
    ///
    /// Two passes: the first bounds the size of the text from string lengths alone (every
    /// escapable byte counted twice, every value at its longest), the second writes through a
    /// pointer into one allocation of that size (why, with the figures: docs/performance.md).
    /// The unused tail of the bound is never written, so it costs address space, not memory.
    public static func encode(_ families: [MetricFamily]) -> [UInt8] {
        var capacity = 0
        for family in families {
            capacity += maximumSize(of: family)
        }
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var writer = Writer(buffer)
            for family in families {
                writer.write(family)
            }
            count = writer.position
        }
    }

    /// Bytes `family` can take at most, from the UTF-8 lengths of its strings (O(1) each).
    static func maximumSize(of family: MetricFamily) -> Int {
        let name = family.name.utf8.count
        var size = 7 + name + 1 + 2 * family.help.utf8.count + 1
            + 7 + name + 1 + family.type.rawValue.utf8.count + 1
        for sample in family.samples {
            size += name + 1 + maximumValueLength + 1
            if !sample.labels.isEmpty {
                size += 2 + sample.labels.count - 1
                for label in sample.labels {
                    size += label.name.utf8.count + 3 + 2 * label.value.utf8.count
                }
            }
        }
        return size
    }

    /// The longest value ``Writer/writeValue(_:)`` writes: "-1.2345678901234567e-308" is 24.
    static let maximumValueLength = 32

    /// The number of decimal digits of `magnitude`.
    static func digitCount(_ magnitude: UInt64) -> Int {
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            digits += 1
            rest /= 10
        }
        return digits
    }

    /// `value` as a whole number when it is one that prints without exponent, else `nil`.
    static func wholeNumber(_ value: Double) -> Int64? {
        // NaN fails the first test, the infinities the second.
        guard value == value.rounded(.towardZero), abs(value) < 1e15 else { return nil }
        return Int64(value)
    }

    /// Writes through a pointer into a buffer that ``maximumSize(of:)`` sized.
    struct Writer {
        /// `nil` only for an empty buffer, to which nothing is written (`capacity` is 0).
        let start: UnsafeMutablePointer<UInt8>?
        let capacity: Int
        var position = 0

        init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
            start = buffer.baseAddress
            capacity = buffer.count
        }

        private var base: UnsafeMutablePointer<UInt8> { start! }

        mutating func write(_ family: MetricFamily) {
            write("# HELP ")
            write(family.name)
            write(.space)
            writeEscaped(family.help, escapingQuotes: false)
            write(.newline)
            write("# TYPE ")
            write(family.name)
            write(.space)
            write(family.type.rawValue)
            write(.newline)
            for sample in family.samples {
                write(family.name)
                if !sample.labels.isEmpty {
                    write(UInt8(ascii: "{"))
                    var first = true
                    for label in sample.labels {
                        if !first { write(UInt8(ascii: ",")) }
                        first = false
                        write(label.name)
                        write(UInt8(ascii: "="))
                        write(.quote)
                        writeEscaped(label.value, escapingQuotes: true)
                        write(.quote)
                    }
                    write(UInt8(ascii: "}"))
                }
                write(.space)
                writeValue(sample.value)
                write(.newline)
            }
        }

        @inline(__always)
        mutating func write(_ byte: UInt8) {
            precondition(position < capacity, "TextEncoder: size computed too small")
            base[position] = byte
            position += 1
        }

        mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
            precondition(position + bytes.count <= capacity, "TextEncoder: size computed too small")
            if let source = bytes.baseAddress {
                (base + position).update(from: source, count: bytes.count)
            }
            position += bytes.count
        }

        mutating func write(_ text: String) {
            var text = text
            text.withUTF8 { write($0) }
        }

        mutating func writeEscaped(_ text: String, escapingQuotes: Bool) {
            var text = text
            text.withUTF8 { bytes in
                var clean = true
                for byte in bytes where byte == .backslash || byte == .newline || (escapingQuotes && byte == .quote) {
                    clean = false
                    break
                }
                guard !clean else { return write(bytes) }
                for byte in bytes {
                    switch byte {
                    case .backslash: write(.backslash); write(.backslash)
                    case .newline: write(.backslash); write(UInt8(ascii: "n"))
                    case .quote where escapingQuotes: write(.backslash); write(.quote)
                    default: write(byte)
                    }
                }
            }
        }

        /// ``TextEncoder/formatValue(_:)``, with whole numbers written digit by digit.
        mutating func writeValue(_ value: Double) {
            guard let whole = wholeNumber(value) else { return write(formatValue(value)) }
            var magnitude = whole.magnitude
            if whole < 0 { write(UInt8(ascii: "-")) }
            let digits = digitCount(magnitude)
            precondition(position + digits <= capacity, "TextEncoder: size computed too small")
            var index = position + digits
            repeat {
                index -= 1
                base[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            position += digits
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
}

extension UInt8 {
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let newline = UInt8(ascii: "\n")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let quote = UInt8(ascii: "\"")
}
