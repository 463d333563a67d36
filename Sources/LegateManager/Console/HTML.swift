// The one escaping function of the console and the small text helpers its renderers share. Pure.

/// HTML text helpers: every value a user, a delegate or the store supplies passes through `escape` before it
/// reaches a page, in element text and in double-quoted attribute values alike.
enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references, so it can only ever be text.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            case "\u{0}": escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Bytes a delegate sent (task output, logs) as escaped text; invalid UTF-8 becomes U+FFFD.
    static func escape(bytes: [UInt8]) -> String {
        self.escape(String(decoding: bytes, as: UTF8.self))
    }

    /// `value` percent-encoded for a query string (unreserved characters kept).
    static func queryValue(_ value: String) -> String {
        var encoded = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                encoded += "%"
                encoded.unicodeScalars.append(digits[Int(byte >> 4)])
                encoded.unicodeScalars.append(digits[Int(byte & 15)])
            }
        }
        return encoded
    }
}

/// Times as the console shows them: absolute UTC and relative to now. Pure: `now` is passed in.
enum ConsoleTime {
    /// `2026-01-01 00:00:00 UTC` for Unix milliseconds; `-` for 0 (never).
    static func absolute(_ unixMilliseconds: Int64) -> String {
        guard unixMilliseconds > 0 else { return "-" }
        let seconds = unixMilliseconds / 1000
        let days = seconds / 86_400
        let rest = seconds % 86_400
        // Civil date from days since 1970-01-01 (proleptic Gregorian).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return "\(year)-\(Self.two(month))-\(Self.two(day)) \(Self.two(rest / 3600)):\(Self.two(rest % 3600 / 60)):"
            + "\(Self.two(rest % 60)) UTC"
    }

    /// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago` (or `in ...` for the future); `never` for 0.
    static func relative(_ unixMilliseconds: Int64, now: Int64) -> String {
        guard unixMilliseconds > 0 else { return "never" }
        let difference = (now - unixMilliseconds) / 1000
        let magnitude = abs(difference)
        let text: String
        switch magnitude {
        case ..<60: text = "\(magnitude) s"
        case ..<3600: text = "\(magnitude / 60) min"
        case ..<86_400: text = "\(magnitude / 3600) h"
        default: text = "\(magnitude / 86_400) d"
        }
        return difference >= 0 ? "\(text) ago" : "in \(text)"
    }

    private static func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
