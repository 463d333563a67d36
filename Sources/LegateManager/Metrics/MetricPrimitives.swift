import Synchronization

/// A monotonically increasing count, lock-free: one relaxed atomic add per event.
final class MetricCounter: Sendable {
    private let value = Atomic<UInt64>(0)

    /// Adds `amount`.
    @inline(__always)
    func increment(by amount: UInt64 = 1) {
        self.value.wrappingAdd(amount, ordering: .relaxed)
    }

    /// The count now.
    var current: UInt64 { self.value.load(ordering: .relaxed) }
}

/// Counters for a fixed set of label values, one atomic each; `Label` is a `CaseIterable` enum whose raw value is
/// the label value, so no caller can invent a label (and no id becomes one).
final class LabeledCounters<Label: CaseIterable & RawRepresentable & Hashable & Sendable>: Sendable
where Label.RawValue == String, Label.AllCases: Sendable {
    private let counters: [Label: MetricCounter]

    /// One zeroed counter per label value.
    init() {
        var counters: [Label: MetricCounter] = [:]
        for label in Label.allCases { counters[label] = MetricCounter() }
        self.counters = counters
    }

    /// Adds one to `label`'s counter.
    func increment(_ label: Label) {
        self.counters[label]?.increment()
    }

    /// Every label value with its count, in declaration order.
    var values: [(label: Label, count: UInt64)] {
        Label.allCases.map { ($0, self.counters[$0]?.current ?? 0) }
    }
}

/// A Prometheus histogram in seconds: cumulative buckets, sum and count under one lock (observed off the hot path).
final class MetricHistogram: Sendable {
    /// Bucket upper bounds in seconds, ascending; `+Inf` is implied.
    let bounds: [Double]
    private let state: Mutex<(buckets: [UInt64], sum: Double, count: UInt64)>

    /// A histogram with `bounds` (seconds).
    init(bounds: [Double]) {
        self.bounds = bounds
        self.state = Mutex((buckets: [UInt64](repeating: 0, count: bounds.count), sum: 0, count: 0))
    }

    /// Records one observation of `seconds` (negative values count as 0).
    func observe(seconds: Double) {
        let value = max(0, seconds)
        let index = self.bounds.firstIndex { value <= $0 }
        self.state.withLock { state in
            if let index { state.buckets[index] += 1 }
            state.sum += value
            state.count += 1
        }
    }

    /// Records one observation of `duration`.
    func observe(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.observe(seconds: Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Cumulative counts per bound (ending with `+Inf`), the sum and the count.
    var snapshot: (cumulative: [UInt64], sum: Double, count: UInt64) {
        let (buckets, sum, count) = self.state.withLock { ($0.buckets, $0.sum, $0.count) }
        var running: UInt64 = 0
        var cumulative = buckets.map { bucket -> UInt64 in
            running += bucket
            return running
        }
        cumulative.append(count)
        return (cumulative, sum, count)
    }

    /// 1 ms to 10 s, for store operations and request handling.
    static let fastBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// 10 ms to 1 h, for task latencies and durations.
    static let taskBounds: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]
}
