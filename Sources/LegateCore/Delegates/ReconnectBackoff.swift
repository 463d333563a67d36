/// Jittered exponential backoff between reconnect attempts (delegates reconnect elsewhere
/// with jittered exponential backoff so a fleet does not stampede a restarted manager).
public struct ReconnectBackoff: Sendable, Equatable {
    /// The first delay before any jitter. Default 200 ms.
    public var initialDelay: Duration
    /// The ceiling for the un-jittered delay. Default 30 s.
    public var maximumDelay: Duration
    /// Growth per failed attempt. Default 2.
    public var multiplier: Double
    /// Consecutive failures so far; reset by `succeeded()`.
    public private(set) var failures: Int = 0

    /// Backoff with the documented defaults: 200 ms doubling to 30 s, full jitter.
    public static let defaults = ReconnectBackoff(initialDelay: .milliseconds(200), maximumDelay: .seconds(30))

    /// Creates a backoff policy.
    public init(initialDelay: Duration, maximumDelay: Duration, multiplier: Double = 2) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
    }

    /// Records a failed attempt and returns how long to wait before the next one ("full jitter":
    /// uniform in `[base/2, base]`, so the fleet spreads out but nobody waits for nothing).
    public mutating func failed(using jitter: inout some JitterSource) -> Duration {
        let exponent = Double(min(self.failures, 30))
        self.failures += 1
        var base = self.initialDelay.scaled(by: pow2(exponent, multiplier: self.multiplier))
        if base > self.maximumDelay { base = self.maximumDelay }
        return base.scaled(by: 0.5 + 0.5 * jitter.nextUnit())
    }

    /// A delay imposed by the server (GOAWAY `reconnect_after_ms`), jittered upwards by up to 50 %.
    public func serverRequested(_ delay: Duration, using jitter: inout some JitterSource) -> Duration {
        delay.scaled(by: 1 + 0.5 * jitter.nextUnit())
    }

    /// Records a successful connection: the next failure starts from the initial delay again.
    public mutating func succeeded() {
        self.failures = 0
    }

    private func pow2(_ exponent: Double, multiplier: Double) -> Double {
        var result = 1.0
        var remaining = Int(exponent)
        while remaining > 0 && result < 1e9 {
            result *= multiplier
            remaining -= 1
        }
        return result
    }
}
