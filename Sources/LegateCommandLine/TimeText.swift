import Foundation

/// Times and durations as people type them: `90s`, `30m`, `24h`, `7d`, or a UTC date-time (pure).
public enum TimeText {
    /// Milliseconds in `text`: a whole number followed by `ms`, `s`, `m`, `h` or `d` (a bare number is seconds);
    /// nil when it is not one or is negative.
    public static func durationMilliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        var number = Substring(text)
        var scale: Int64 = 1000
        for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
            // "ms" is checked before "s": the first suffix that matches wins.
            number = text.dropLast(suffix.count)
            scale = milliseconds
            break
        }
        guard let value = Int64(number), value >= 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }

    /// A point in time as Unix milliseconds: a duration means that long before `now` (`24h`: a day ago), else an
    /// ISO 8601 UTC date-time (`2026-11-30T04:00:00Z`) or date (`2026-11-30`); nil when it is neither.
    public static func instantMilliseconds(_ text: String, now: Int64) -> Int64? {
        if let ago = self.durationMilliseconds(text) { return now - ago }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = text.count == 10 ? [.withFullDate] : [.withInternetDateTime]
        guard let date = formatter.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
