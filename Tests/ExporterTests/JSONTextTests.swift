import Exporter
import Testing

@Suite struct JSONTextTests {
    @Test func stringsAreQuotedAsJSONWants() {
        #expect(JSONText.quoted("plain") == "\"plain\"")
        #expect(JSONText.quoted("a\"b\\c\nd\u{1}é") == "\"a\\\"b\\\\c\\nd\\u0001é\"")
    }
}
