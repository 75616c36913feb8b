import Exposition
import Testing

@Suite struct TextEncoderTests {
    private func encode(_ families: [MetricFamily]) -> String {
        var set = FamilySet()
        set.add(families)
        return String(decoding: TextEncoder.encode(set.families), as: UTF8.self)
    }

    @Test(arguments: [
        ("plain", "plain"),
        ("back\\slash", "back\\\\slash"),
        ("say \"hi\"", "say \\\"hi\\\""),
        ("two\nlines", "two\\nlines"),
        ("C:\\dir \"q\"\nnext", "C:\\\\dir \\\"q\\\"\\nnext"),
        ("ünïcødé ✓", "ünïcødé ✓"),
    ])
    func labelValuesAreEscaped(raw: String, escaped: String) {
        let text = encode([.gauge("m", help: "h", samples: [Sample(labels: [Label("l", raw)], value: 1)])])
        #expect(text.contains("m{l=\"\(escaped)\"} 1\n"))
    }

    @Test func helpEscapesBackslashAndNewlineButNotQuotes() {
        let text = encode([.gauge("m", help: "a \\ b\nc \"d\"", samples: [Sample(value: 1)])])
        #expect(text.hasPrefix("# HELP m a \\\\ b\\nc \"d\"\n# TYPE m gauge\n"))
    }

    @Test(arguments: [
        (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"),
        (42, "42"), (-3, "-3"), (0, "0"), (0.25, "0.25"), (1e-7, "1e-07"), (1.5e20, "1.5e+20"),
        (1234567890123, "1234567890123"),
    ])
    func valuesAreSpelledAsPrometheusDoes(value: Double, text: String) {
        #expect(TextEncoder.formatValue(value) == text)
    }

    @Test(arguments: [
        Double.infinity, -Double.infinity, Double.nan, 42, -3, 0, -0.0, 7, -9, 10, 0.25, 1e-7, 1.5e20,
        1234567890123, -987654321, 999_999_999_999_999, 1e15, -1e15,
    ])
    func encodedValuesMatchFormatValue(value: Double) {
        // The encoder writes whole numbers digit by digit; it must spell them as formatValue does.
        let text = encode([.gauge("m", help: "h", samples: [Sample(value: value)])])
        #expect(text.hasSuffix("\nm \(TextEncoder.formatValue(value))\n"))
    }

    @Test func familiesOfOneNameAreWrittenOnceWithAllTheirSamples() {
        let text = encode([
            .gauge("pg_up", help: "first", samples: [Sample(labels: [Label("target", "a")], value: 1)]),
            .gauge("other", help: "o", samples: [Sample(value: 2)]),
            .gauge("pg_up", help: "second", samples: [Sample(labels: [Label("target", "b")], value: 0)]),
        ])
        #expect(text == """
            # HELP pg_up first
            # TYPE pg_up gauge
            pg_up{target="a"} 1
            pg_up{target="b"} 0
            # HELP other o
            # TYPE other gauge
            other 2

            """)
    }

    @Test func duplicateSeriesAreDroppedAndCounted() {
        var set = FamilySet()
        set.add([
            .gauge("standby", help: "h", samples: [
                Sample(labels: [Label("application_name", "walreceiver")], value: 1),
                Sample(labels: [Label("application_name", "walreceiver")], value: 2),
                Sample(labels: [Label("application_name", "other")], value: 3),
            ]),
        ])
        #expect(set.droppedSeries == 1)
        #expect(set.families[0].samples.map(\.value) == [1, 3])
    }

    @Test func aFamilyThatChangesTypeOrHasAnInvalidNameIsDroppedNotFatal() {
        var set = FamilySet()
        set.add([
            .gauge("m", help: "h", samples: [Sample(value: 1)]),
            .counter("m", help: "h", samples: [Sample(labels: [Label("x", "y")], value: 2)]),
            .gauge("bad-name", help: "h", samples: [Sample(value: 3)]),
            .gauge("9starts_with_digit", help: "h", samples: [Sample(value: 3)]),
        ])
        #expect(set.families.map(\.name) == ["m"])
        #expect(set.droppedSeries == 3)
    }

    @Test func emptyFamiliesStillCarryHelpAndType() {
        let text = encode([.gauge("pg_stat_activity_count", help: "h")])
        #expect(text == "# HELP pg_stat_activity_count h\n# TYPE pg_stat_activity_count gauge\n")
    }
}
