import LegateCore
import LegateNet
import Synchronization

/// A clock that moves only when a test says so: wall and monotonic time advance together by `advance(by:)`.
public final class ManualClock: ServiceClock {
    private struct Reading {
        var unixMilliseconds: Int64
        var instant: ContinuousClock.Instant
    }

    private let reading: Mutex<Reading>

    /// Starts at `unixMilliseconds` (default 2026-01-01T00:00:00Z) and at the real instant of creation.
    public init(unixMilliseconds: Int64 = 1_767_225_600_000) {
        self.reading = Mutex(Reading(unixMilliseconds: unixMilliseconds, instant: .now))
    }

    /// Milliseconds since 1970-01-01 UTC on this clock.
    public func unixMilliseconds() -> Int64 { self.reading.withLock { $0.unixMilliseconds } }

    /// The monotonic instant on this clock.
    public func monotonicNow() -> ContinuousClock.Instant { self.reading.withLock { $0.instant } }

    /// Moves both readings forward by `duration` (a negative duration is refused by a precondition: time never
    /// runs backwards in a test).
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a manual clock only moves forward")
        self.reading.withLock {
            $0.unixMilliseconds += duration.int64Milliseconds
            $0.instant = $0.instant.advanced(by: duration)
        }
    }
}
