import LegateCommandLine
import Testing

/// Durations and points in time as typed on the command line.
@Suite struct TimeTextTests {
    @Test func durationsWithUnits() {
        #expect(TimeText.durationMilliseconds("24h") == 86_400_000)
        #expect(TimeText.durationMilliseconds("30m") == 1_800_000)
        #expect(TimeText.durationMilliseconds("7d") == 604_800_000)
        #expect(TimeText.durationMilliseconds("250ms") == 250)
        #expect(TimeText.durationMilliseconds("90s") == 90_000)
        #expect(TimeText.durationMilliseconds("90") == 90_000)
        for bad in ["", "h", "-1h", "1.5h", "1w", "99999999999999999d"] {
            #expect(TimeText.durationMilliseconds(bad) == nil, "\(bad)")
        }
    }

    @Test func instantsAreAgoOrUTCDates() {
        let now: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
        #expect(TimeText.instantMilliseconds("1h", now: now) == now - 3_600_000)
        #expect(TimeText.instantMilliseconds("2026-01-01T00:00:00Z", now: 0) == now)
        #expect(TimeText.instantMilliseconds("2026-01-01", now: 0) == now)
        #expect(TimeText.instantMilliseconds("yesterday", now: now) == nil)
    }
}
