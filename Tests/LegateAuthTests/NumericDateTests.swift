@testable import LegateAuth
import Testing

/// RFC 7519 NumericDates are JSON numbers: fractions and exponents are read exactly (to the nanosecond, rounded
/// up beyond it), and member names are unique at every depth of a header or claims set.
@Suite struct NumericDateTests {
    static func read(_ text: String) -> Result<NumericDate?, AuthError> {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            Result { () throws(AuthError) -> NumericDate? in
                var scanner = JSONScanner(raw, segment: "payload")
                let value = try scanner.readNumericDate()
                try scanner.end()
                return value
            }
        }
    }

    @Test(arguments: [
        ("1700000000", 1_700_000_000, 0), ("1700000000.5", 1_700_000_000, 500_000_000),
        ("1700000000.000000001", 1_700_000_000, 1), ("1700000000.0000000001", 1_700_000_000, 1),
        ("1700000000.9999999999", 1_700_000_001, 0), ("1.7e9", 1_700_000_000, 0), ("17E+8", 1_700_000_000, 0),
        ("1700000000000e-3", 1_700_000_000, 0), ("0", 0, 0), ("-0", 0, 0), ("0.5", 0, 500_000_000),
        ("-1.5", -2, 500_000_000), ("-1", -1, 0), ("1e-400", 0, 1), ("0e400", 0, 0), (" 12 ", 12, 0),
        ("999999999999999.9", 999_999_999_999_999, 900_000_000),
    ] as [(String, Int64, Int64)])
    func numbersReadExactly(_ text: String, _ seconds: Int64, _ nanoseconds: Int64) {
        #expect(Self.read(text) == .success(NumericDate(seconds: seconds, nanoseconds: nanoseconds)), "\(text)")
    }

    @Test(arguments: ["1.", "1e", "1e+", "-", "01", "1.e5", ".5", "1e400", "1000000000000000", "1.5.5", "--1"])
    func malformedNumbersAreRefused(_ text: String) {
        guard case .failure(let error) = Self.read(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(error.code == "malformedJSON", "\(text): \(error)")
    }

    @Test func wholeSecondsRoundUpAndDistancesAreExact() {
        let exp = NumericDate(seconds: 3600, nanoseconds: 500_000_000)
        #expect(exp.wholeSecondsRoundedUp == 3601)
        let quarter = exp.distance(from: NumericDate(seconds: 0, nanoseconds: 250_000_000), within: 3600)
        #expect(quarter.roundedUp == 3601 && quarter.isPositive && !quarter.isWithin)
        let exact = exp.distance(from: NumericDate(seconds: 0, nanoseconds: 500_000_000), within: 3600)
        #expect(exact.roundedUp == 3600 && exact.isPositive && exact.isWithin)
        let tiny = NumericDate(seconds: 5, nanoseconds: 2).distance(from: NumericDate(seconds: 5, nanoseconds: 1), within: 1)
        #expect(tiny.roundedUp == 1 && tiny.isPositive && tiny.isWithin)
        let backwards = NumericDate(seconds: 5, nanoseconds: 0).distance(from: NumericDate(seconds: 5, nanoseconds: 1), within: 1)
        #expect(!backwards.isPositive)
    }

    static func header(_ text: String) -> Result<String, AuthError> {
        Array(text.utf8).withUnsafeBytes { raw in Result { () throws(AuthError) -> String in try JWTVerifier.parseHeader(raw) } }
    }

    @Test func duplicateNamesAreRefusedAtEveryDepth() {
        let prefix = "{\"alg\":\"HS256\",\"kid\":\"k\",\"x\":"
        #expect(Self.header(prefix + "{\"a\":1,\"a\":2}}") == .failure(.duplicateKey(segment: "header", key: "a")))
        #expect(Self.header(prefix + "[{\"b\":{\"c\":[],\"c\":{}}}]}")
            == .failure(.duplicateKey(segment: "header", key: "c")))
        #expect(Self.header(prefix + "[{\"a\":1},{\"a\":2}],\"y\":{\"a\":{\"a\":1}}}") == .success("k"))
        let members = (0..<33).map { "\"m\($0)\":0" }.joined(separator: ",")
        guard case .failure(let error) = Self.header(prefix + "{" + members + "}}") else {
            Issue.record("33 nested members accepted")
            return
        }
        #expect(error.code == "malformedJSON")
    }
}
