/// The time a service reads: wall time for records, JWT claims and expiries, and a monotonic instant for
/// deadlines. Services take one value of it at construction; production passes `SystemClock`, tests a
/// manual clock they move by arithmetic, so nothing above the I/O layer reads the real clock itself.
public protocol ServiceClock: Sendable {
    /// Milliseconds since 1970-01-01 UTC.
    func unixMilliseconds() -> Int64
    /// The current monotonic instant.
    func monotonicNow() -> ContinuousClock.Instant
}

extension ServiceClock {
    /// Whole seconds since 1970-01-01 UTC (rounded down).
    public func unixSeconds() -> Int64 {
        let milliseconds = self.unixMilliseconds()
        return milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
    }
}

/// The real clocks: `CLOCK_REALTIME` for wall time, `ContinuousClock` for instants.
public struct SystemClock: ServiceClock {
    /// Creates the system clock.
    public init() {}

    /// Milliseconds since 1970-01-01 UTC, read from `CLOCK_REALTIME`.
    public func unixMilliseconds() -> Int64 { WallClock.unixMilliseconds() }

    /// `ContinuousClock.now`.
    public func monotonicNow() -> ContinuousClock.Instant { ContinuousClock.now }
}
