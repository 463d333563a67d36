public import Dispatch
internal import Foundation
internal import Synchronization

/// One serial DispatchQueue that owns a set of connections, their epoll registrations, timers and two shared
/// I/O buffers.
///
/// `@unchecked Sendable`: the only mutable state (the per-loop buffers, the poller) is touched on `queue` only.
public final class EventLoop: @unchecked Sendable {
    /// The serial queue every connection, timer and handler of this loop runs on.
    public let queue: DispatchQueue
    /// Ciphertext read buffer shared by all connections of this loop (used only on `queue`).
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Plaintext buffer shared by all connections of this loop (used only on `queue`).
    let plaintextBuffer: UnsafeMutableRawBufferPointer
    /// The loop's epoll instance; every connection fd of this loop is registered there (used only on `queue`).
    let poller: Poller
    private static let key = DispatchSpecificKey<ObjectIdentifier>()

    /// Bytes in each per-loop buffer.
    static let bufferBytes = 64 << 10

    /// Creates a loop with its own serial queue.
    public init(label: String = "legate.loop") {
        self.queue = DispatchQueue(label: label)
        self.poller = Poller(queue: self.queue)
        self.readBuffer = .allocate(byteCount: Self.bufferBytes, alignment: 16)
        self.plaintextBuffer = .allocate(byteCount: Self.bufferBytes, alignment: 16)
        self.queue.setSpecific(key: Self.key, value: ObjectIdentifier(self))
    }

    deinit {
        self.readBuffer.deallocate()
        self.plaintextBuffer.deallocate()
    }

    /// Runs `work` on the loop's queue, asynchronously.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        self.queue.async(execute: work)
    }

    /// Runs `work` on the loop after `delay` unless the returned timer is cancelled first (discarding it is fine).
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> ScheduledTimer {
        let source = DispatchSource.makeTimerSource(queue: self.queue)
        let timer = ScheduledTimer(source: source)
        // The handler holds the timer strongly so a discarded `ScheduledTimer` still fires; the cycle
        // (source -> handler -> timer -> source) ends when `fire()` or `cancel()` cancels the source, which
        // makes libdispatch release the handler.
        source.setEventHandler {
            guard timer.fire() else { return }
            work()
        }
        source.schedule(deadline: .now() + delay.dispatchInterval, leeway: .milliseconds(1))
        source.resume()
        return timer
    }

    /// The monotonic clock for deadlines (the only real clock of the project).
    public var now: ContinuousClock.Instant { ContinuousClock.now }

    /// True when called on this loop's queue.
    public var inEventLoop: Bool { DispatchQueue.getSpecific(key: Self.key) == ObjectIdentifier(self) }
}

/// A pending one-shot timer created by `EventLoop.schedule`.
///
/// `@unchecked Sendable`: the state is an Atomic; the source is thread-safe to cancel.
public final class ScheduledTimer: @unchecked Sendable {
    private let source: DispatchSourceTimer
    private let state = Atomic<Int>(0)  // 0 pending, 1 fired, 2 cancelled

    init(source: DispatchSourceTimer) { self.source = source }

    /// Marks the timer fired; false when it was cancelled first.
    fileprivate func fire() -> Bool {
        let won = self.state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged
        self.source.cancel()
        return won
    }

    /// Cancels the timer; its work will not run (safe from any thread, idempotent).
    public func cancel() {
        _ = self.state.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing)
        self.source.cancel()
    }
}

/// A fixed set of event loops handed out round robin.
public final class EventLoopGroup: Sendable {
    /// The loops, one serial queue each.
    public let loops: [EventLoop]
    private let counter = Atomic<UInt>(0)

    /// Creates `loopCount` loops (at least one).
    public init(loopCount: Int = System.coreCount) {
        self.loops = (0..<max(1, loopCount)).map { EventLoop(label: "legate.loop.\($0)") }
    }

    /// The next loop, round robin.
    public func next() -> EventLoop {
        let index = Int(self.counter.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(self.loops.count))
        return self.loops[index]
    }
}
