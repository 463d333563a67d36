/// When a delegate beats next: every beat lands at `interval ± spread`, so a fleet that started
/// together (a reconnect storm) drifts apart instead of beating in step.
public struct HeartbeatSchedule: Sendable, Equatable {
    /// The interval the manager announced.
    public var interval: Duration
    /// Fraction of the interval each beat may move early or late. Default 0.1 (± 10 %).
    public var spread: Double

    /// Creates a schedule; `spread` is clamped to `0...0.5` so a beat never comes later than 1.5 intervals.
    public init(interval: Duration, spread: Double = 0.1) {
        self.interval = interval
        self.spread = min(max(spread, 0), 0.5)
    }

    /// The first beat: a random point of one interval (connections made together spread out at once).
    public func firstDelay(using jitter: inout some JitterSource) -> Duration {
        self.interval.scaled(by: Self.unit(jitter.nextUnit()))
    }

    /// Every later beat: `interval × (1 - spread + 2 × spread × u)` for a uniform `u` in `0..<1`.
    public func nextDelay(using jitter: inout some JitterSource) -> Duration {
        self.interval.scaled(by: 1 - self.spread + 2 * self.spread * Self.unit(jitter.nextUnit()))
    }

    private static func unit(_ value: Double) -> Double {
        value.isFinite ? min(max(value, 0), 1) : 0.5
    }
}
