/// Log-linear latency histogram (about 1.6 % resolution), mergeable, fixed memory; values in nanoseconds.
struct LatencyHistogram: Sendable {
    private static let subBuckets = 64
    private var counts = [UInt64](repeating: 0, count: 64 * 64)
    private(set) var count: UInt64 = 0
    private(set) var maximum: UInt64 = 0
    private(set) var sum: Double = 0

    mutating func record(nanoseconds value: UInt64) {
        self.counts[Self.index(of: value)] += 1
        self.count += 1
        self.sum += Double(value)
        if value > self.maximum { self.maximum = value }
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in self.counts.indices { self.counts[index] += other.counts[index] }
        self.count += other.count
        self.sum += other.sum
        self.maximum = max(self.maximum, other.maximum)
    }

    /// The value below which `fraction` of the samples fall (upper edge of its bucket).
    func percentile(_ fraction: Double) -> UInt64 {
        guard self.count > 0 else { return 0 }
        let rank = UInt64((Double(self.count) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (index, bucketCount) in self.counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= max(rank, 1) { return min(Self.upperEdge(of: index), self.maximum) }
        }
        return self.maximum
    }

    private static func index(of value: UInt64) -> Int {
        if value < UInt64(subBuckets) { return Int(value) }
        let magnitude = 63 - value.leadingZeroBitCount  // >= 6
        let shift = magnitude - 5
        let mantissa = Int(value >> UInt64(shift)) - subBuckets / 2  // 0..<32 in the top half
        let index = (magnitude - 5) * (subBuckets / 2) + subBuckets / 2 + mantissa
        return min(index, 64 * 64 - 1)
    }

    private static func upperEdge(of index: Int) -> UInt64 {
        if index < subBuckets { return UInt64(index) }
        let half = subBuckets / 2
        let group = (index - subBuckets) / half + 1  // = magnitude - 5
        let mantissa = (index - subBuckets) % half + half
        return (UInt64(mantissa + 1) << UInt64(group)) - 1
    }
}
