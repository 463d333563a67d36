/// A monotonic instant. Core never reads a clock: the I/O layer passes `now` into every event.
public typealias MonotonicInstant = ContinuousClock.Instant

/// A random source for jitter, injected so state machines stay deterministic under test.
public protocol JitterSource {
    /// A uniformly distributed value in `0..<1`.
    mutating func nextUnit() -> Double
}

/// The system generator, for production use.
public struct SystemJitter: JitterSource {
    private var generator = SystemRandomNumberGenerator()

    /// Creates a jitter source backed by the system's random number generator.
    public init() {}

    /// A uniformly distributed value in `0..<1`.
    public mutating func nextUnit() -> Double {
        Double.random(in: 0..<1, using: &self.generator)
    }
}

/// The one deterministic generator (SplitMix64), for jitter under test, fuzzing and seeded simulations: a run
/// is reproduced from its printed seed.
public struct SeededJitter: JitterSource, RandomNumberGenerator {
    private var state: UInt64

    /// Creates a generator whose sequence depends only on `seed`.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// The next 64 pseudo-random bits.
    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = self.state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A uniformly distributed value in `0..<1`.
    public mutating func nextUnit() -> Double {
        Double(self.next() >> 11) / Double(1 << 53)
    }
}

extension Duration {
    /// The duration in whole milliseconds (for Unix-millisecond arithmetic).
    public var int64Milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration in milliseconds, rounded down and clamped to `UInt32` (for wire fields).
    public var wireMilliseconds: UInt32 {
        UInt32(clamping: max(0, self.int64Milliseconds))
    }

    /// The duration multiplied by a non-negative factor.
    public func scaled(by factor: Double) -> Duration {
        let (seconds, attoseconds) = self.components
        let total = (Double(seconds) + Double(attoseconds) / 1e18) * max(0, factor)
        return .nanoseconds(Int64(min(total * 1e9, Double(Int64.max / 2))))
    }
}
