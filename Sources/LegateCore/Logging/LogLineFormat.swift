import LegateAuth

/// How a log line is written: `text` is `time level message key=value ...` (values quoted when they hold a space,
/// a quote, `=` or a control character), `json` one object per line with `time`, `level`, `message` and `fields`.
/// Pure: the time is passed in, so the same input always gives the same bytes.
public enum LogLineFormat: String, Sendable, CaseIterable {
    /// Human-readable `key=value` lines.
    case text
    /// One JSON object per line, for log shippers.
    case json

    /// The line (ending in a newline) for one event at `unixMilliseconds`.
    public func line(
        unixMilliseconds: Int64, level: LogLevel, message: String, metadata: [String: String]
    ) -> String {
        let time = Self.iso8601(unixMilliseconds: unixMilliseconds)
        let fields = metadata.sorted { $0.key < $1.key }
        switch self {
        case .text:
            var line = "\(time) \(level) \(message)"
            for (key, value) in fields {
                line += " \(key)=\(Self.textValue(value))"
            }
            return line + "\n"
        case .json:
            var line = "{\"time\":\"\(time)\",\"level\":\"\(level)\",\"message\":\(Self.jsonString(message))"
            line += ",\"fields\":{"
            line += fields.map { "\(Self.jsonString($0.key)):\(Self.jsonString($0.value))" }.joined(separator: ",")
            return line + "}}\n"
        }
    }

    /// A `key=value` value, quoted (with `\"`, `\\` and control characters escaped) when it is empty or holds a
    /// space, a quote, `=`, a backslash or a control character.
    static func textValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
            }
        guard needsQuotes else { return value }
        return Self.jsonString(value)
    }

    /// `value` as a JSON string literal (RFC 8259: quote, backslash and control characters escaped).
    static func jsonString(_ value: String) -> String { LegateAuth.jsonString(value) }

    /// `2026-11-30T03:45:12.345Z` for Unix milliseconds (proleptic Gregorian calendar, UTC).
    static func iso8601(unixMilliseconds: Int64) -> String {
        let milliseconds = ((unixMilliseconds % 1000) + 1000) % 1000
        let seconds = (unixMilliseconds - milliseconds) / 1000
        let secondsOfDay = ((seconds % 86_400) + 86_400) % 86_400
        let days = (seconds - secondsOfDay) / 86_400
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):"
            + "\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(milliseconds, 3))Z"
    }
}
