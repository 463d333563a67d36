#if canImport(Glibc)
internal import Glibc
#endif
internal import Dispatch
internal import Synchronization

/// When to hand freed heap back to the system after a connection storm.
///
/// glibc keeps the pages of freed TLS sessions and buffers in its arenas: after a storm of thousands of
/// connections the resident size stays at its peak although the live heap is small. Trimming walks every arena,
/// so it is worth it only once the count has fallen well below its recent peak, and not more often than
/// `minimumInterval`.
public struct TrimPolicy: Sendable, Equatable {
    /// Peaks below this many connections never trigger a trim (default 256).
    public var minimumPeak: Int
    /// Trim once the count is at or below `peak / fallDivisor` (default 4: a fall to a quarter of the peak).
    public var fallDivisor: Int
    /// Least time between two trims (default 10 s).
    public var minimumInterval: Duration

    /// 256 connections, a fall to a quarter, 10 s apart.
    public static let defaults = TrimPolicy(minimumPeak: 256, fallDivisor: 4, minimumInterval: .seconds(10))

    /// Builds a policy; arguments default to `defaults`.
    public init(minimumPeak: Int = 256, fallDivisor: Int = 4, minimumInterval: Duration = .seconds(10)) {
        self.minimumPeak = minimumPeak
        self.fallDivisor = max(1, fallDivisor)
        self.minimumInterval = minimumInterval
    }
}

/// The trim decision over connection counts (pure; time is passed in).
public struct TrimTracker: Sendable {
    /// What the caller should do after a count change.
    public enum Action: Sendable, Equatable {
        /// Nothing to return, or a trim is already due.
        case none
        /// Trim now.
        case trim
        /// A trim is due but rate-limited: look again at this instant (once; later calls return `.none`).
        case checkAgain(at: ContinuousClock.Instant)
    }

    /// The policy in force.
    public let policy: TrimPolicy
    /// Highest count since the last trim.
    public private(set) var peak = 0
    private var lastCount = 0
    private var lastTrim: ContinuousClock.Instant?
    private var recheckPending = false

    /// A tracker that has seen no connection.
    public init(policy: TrimPolicy = .defaults) { self.policy = policy }

    /// The count changed to `count` at `now`.
    public mutating func countChanged(_ count: Int, now: ContinuousClock.Instant) -> Action {
        self.lastCount = count
        self.peak = max(self.peak, count)
        guard self.peak >= self.policy.minimumPeak, count <= self.peak / self.policy.fallDivisor else {
            return .none
        }
        if let lastTrim, now < lastTrim + self.policy.minimumInterval {
            guard !self.recheckPending else { return .none }
            self.recheckPending = true
            return .checkAgain(at: lastTrim + self.policy.minimumInterval)
        }
        self.lastTrim = now
        self.peak = count
        self.recheckPending = false
        return .trim
    }

    /// The rate limit has passed: decides again on the last count seen.
    public mutating func recheck(now: ContinuousClock.Instant) -> Action {
        self.recheckPending = false
        return self.countChanged(self.lastCount, now: now)
    }
}

/// Returns freed heap to the system after connection storms (glibc `malloc_trim(0)` off the event loops).
///
/// Thread-safe: the tracker sits behind a lock held for a few comparisons per connection opened or closed.
public final class MemoryTrimmer: Sendable {
    private let tracker: Mutex<TrimTracker>
    private let trims = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "legate.memory-trim", qos: .utility)
    private let onTrim: (@Sendable (_ residentBytesBefore: Int, _ residentBytesAfter: Int) -> Void)?

    /// A trimmer following the counts it is told; `onTrim` hears the resident size before and after each trim
    /// (on the trimmer's own queue).
    public init(policy: TrimPolicy = .defaults,
                onTrim: (@Sendable (_ residentBytesBefore: Int, _ residentBytesAfter: Int) -> Void)? = nil) {
        self.tracker = Mutex(TrimTracker(policy: policy))
        self.onTrim = onTrim
    }

    /// Trims started so far.
    public var trimCount: Int { self.trims.load(ordering: .relaxed) }

    /// The connection count changed to `count` (call after every open and close).
    public func countChanged(_ count: Int) {
        let now = ContinuousClock.now
        self.perform(self.tracker.withLock { $0.countChanged(count, now: now) })
    }

    private func perform(_ action: TrimTracker.Action) {
        switch action {
        case .none:
            return
        case .trim:
            self.trims.add(1, ordering: .relaxed)
            let onTrim = self.onTrim
            self.queue.async {
                let before = System.residentBytes()
                System.returnFreedMemory()
                onTrim?(before, System.residentBytes())
            }
        case .checkAgain(let instant):
            let delay = ContinuousClock.now.duration(to: instant)
            self.queue.asyncAfter(deadline: .now() + delay.dispatchInterval) { [weak self] in
                guard let self else { return }
                let now = ContinuousClock.now
                self.perform(self.tracker.withLock { $0.recheck(now: now) })
            }
        }
    }
}

extension System {
    /// Resident set size of this process in bytes (0 when /proc cannot be read).
    public static func residentBytes() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return 0 }
        // "size resident shared ...", in pages.
        let fields = buffer[0..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Hands free heap pages back to the system (glibc `malloc_trim(0)`); false where the C library has none.
    /// Walks every malloc arena: call off the event loops.
    @discardableResult
    public static func returnFreedMemory() -> Bool {
        guard let trim = Self.mallocTrim else { return false }
        return trim(0) == 1
    }

    private typealias MallocTrim = @convention(c) (Int) -> Int32

    /// glibc's `malloc_trim`, looked up once (the Glibc module does not import malloc.h).
    private static let mallocTrim: MallocTrim? = dlsym(nil, "malloc_trim").map { unsafeBitCast($0, to: MallocTrim.self) }
}
