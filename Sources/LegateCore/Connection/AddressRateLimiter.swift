/// A token bucket per peer address, bounding how fast one address may open connections (and so register).
/// Pure: the caller passes `now`; memory is bounded by `maxAddresses`.
public struct AddressRateLimiter: Sendable {
    /// Limits of the buckets.
    public struct Configuration: Sendable, Equatable {
        /// Sustained new connections per second per address; 0 disables the limit. Default 200.
        public var perSecond: Double = 200
        /// Burst allowed above the sustained rate. Default 2,000 (a restart of a NAT-ed fleet).
        public var burst: Double = 2_000
        /// Addresses tracked at once; beyond it the idlest bucket is forgotten. Default 100,000.
        public var maxAddresses: Int = 100_000

        /// The documented defaults.
        public static let defaults = Configuration()

        /// Creates the defaults.
        public init() {}

        /// No limit at all (load tests from one address).
        public static let unlimited: Configuration = {
            var configuration = Configuration()
            configuration.perSecond = 0
            return configuration
        }()
    }

    private struct Bucket: Sendable {
        var tokens: Double
        var updatedAt: MonotonicInstant
    }

    /// The limits in force.
    public let configuration: Configuration
    private var buckets: [String: Bucket] = [:]

    /// Creates a limiter with empty history.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Number of addresses currently tracked.
    public var trackedAddresses: Int { self.buckets.count }

    /// Takes one token for `address` at `now`; false means refuse this connection.
    public mutating func admit(_ address: String, now: MonotonicInstant) -> Bool {
        guard self.configuration.perSecond > 0 else { return true }
        var bucket = self.buckets[address] ?? Bucket(tokens: self.configuration.burst, updatedAt: now)
        let elapsed = now - bucket.updatedAt
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(self.configuration.burst, bucket.tokens + max(0, seconds) * self.configuration.perSecond)
        bucket.updatedAt = now
        let admitted = bucket.tokens >= 1
        if admitted { bucket.tokens -= 1 }
        if self.buckets[address] == nil && self.buckets.count >= self.configuration.maxAddresses {
            self.forgetFullBuckets(now: now)
        }
        self.buckets[address] = bucket
        return admitted
    }

    /// Drops buckets that have refilled completely (they behave exactly like absent ones); if none has, drops
    /// an arbitrary half so memory stays bounded under an address-spraying attack.
    private mutating func forgetFullBuckets(now: MonotonicInstant) {
        let burst = self.configuration.burst
        let rate = self.configuration.perSecond
        self.buckets = self.buckets.filter { _, bucket in
            let elapsed = now - bucket.updatedAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return bucket.tokens + seconds * rate < burst
        }
        if self.buckets.count >= self.configuration.maxAddresses {
            let keep = self.buckets.prefix(self.configuration.maxAddresses / 2)
            self.buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
