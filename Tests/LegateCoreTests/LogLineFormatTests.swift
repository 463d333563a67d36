import Foundation
import Testing

@testable import LegateCore

/// Log lines: `key=value` text with values quoted when they would be ambiguous, and JSON any parser reads back.
@Suite struct LogLineFormatTests {
    let at: Int64 = 1_796_009_112_345  // 2026-11-30T03:25:12.345Z

    @Test func textQuotesValuesThatWouldBeAmbiguous() {
        let line = LogLineFormat.text.line(
            unixMilliseconds: self.at, level: .warning, message: "registration refused",
            metadata: ["peer": "127.0.0.1:5", "reason": "JWT rejected: expired", "empty": "", "eq": "a=b",
                       "quote": "say \"hi\"", "newline": "two\nlines"])
        #expect(
            line == "2026-11-30T03:25:12.345Z warning registration refused empty=\"\" eq=\"a=b\" "
                + "newline=\"two\\nlines\" peer=127.0.0.1:5 quote=\"say \\\"hi\\\"\" "
                + "reason=\"JWT rejected: expired\"\n")
        #expect(line.filter { $0 == "\n" }.count == 1, "a value cannot start a second line")
    }

    @Test func jsonIsOneObjectPerLineThatParsesBack() throws {
        let metadata = ["delegate.id": "dlg_1", "reason": "tab\there \u{01} \"q\" \\ é 😀"]
        let line = LogLineFormat.json.line(
            unixMilliseconds: self.at, level: .info, message: "delegate \"registered\"", metadata: metadata)
        #expect(line.hasSuffix("}\n"))
        #expect(line.filter { $0 == "\n" }.count == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["time"] as? String == "2026-11-30T03:25:12.345Z")
        #expect(object["level"] as? String == "info")
        #expect(object["message"] as? String == "delegate \"registered\"")
        #expect(object["fields"] as? [String: String] == metadata)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(4_102_444_799_999), "2099-12-31T23:59:59.999Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
    ])
    func timesAreUTCWithMilliseconds(_ input: (Int64, String)) {
        #expect(LogLineFormat.iso8601(unixMilliseconds: input.0) == input.1)
    }

    @Test func plainValuesStayUnquoted() {
        #expect(LogLineFormat.textValue("dlg_3k9x") == "dlg_3k9x")
        #expect(LogLineFormat.textValue("[::1]:7443") == "[::1]:7443")
    }
}
