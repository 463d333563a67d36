import Dispatch
import LegateNet
import Synchronization

/// Task timers (start reports, log flushes, attempt timeouts) of every client on one event loop, driven by ONE
/// repeating DispatchSource that ticks every `resolution` while any timer is pending and is suspended otherwise.
///
/// A DispatchSourceTimer per timer costs a trip through libdispatch's timer manager on every schedule and cancel;
/// with thousands of short tasks per second that was a fifth of a load client's CPU. Timers fire on the loop up to
/// `resolution` late.
///
/// `@unchecked Sendable`: `source` is resumed and suspended only under the `state` lock (so the two alternate), and
/// its handler runs on the loop; everything else is immutable or in the Mutex.
public final class LoopTaskTimers: TaskTimerScheduling, @unchecked Sendable {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let work: @Sendable () -> Void
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        var isTicking = false
    }

    /// How late a timer may fire.
    public let resolution: Duration
    private let loop: EventLoop
    private let state = Mutex(State())
    private let source: any DispatchSourceTimer

    private static let perLoop = Mutex<[ObjectIdentifier: LoopTaskTimers]>([:])

    /// The timers shared by every client on `loop` (loops live as long as the process).
    public static func shared(on loop: EventLoop) -> LoopTaskTimers {
        Self.perLoop.withLock { all in
            if let existing = all[ObjectIdentifier(loop)] { return existing }
            let timers = LoopTaskTimers(loop: loop)
            all[ObjectIdentifier(loop)] = timers
            return timers
        }
    }

    /// Timers on `loop` with their own tick source.
    public init(loop: EventLoop, resolution: Duration = .milliseconds(10)) {
        self.loop = loop
        self.resolution = resolution
        self.source = DispatchSource.makeTimerSource(queue: loop.queue)
        self.source.schedule(
            deadline: .now(), repeating: max(resolution, .milliseconds(1)).dispatchInterval, leeway: .milliseconds(1))
        self.source.setEventHandler { [weak self] in self?.tick() }
        // Created suspended; resumed while timers are pending.
    }

    deinit {
        self.state.withLock { state in
            if !state.isTicking { self.source.resume() }  // a suspended source must not be released
        }
        self.source.cancel()
    }

    /// Runs `work` on the loop after `delay` (up to `resolution` later) unless cancelled first.
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any TaskTimer {
        let deadline = ContinuousClock.now + delay
        let id = self.state.withLock { state -> UInt64 in
            let id = state.nextID
            state.nextID &+= 1
            state.entries[id] = Entry(deadline: deadline, work: work)
            if !state.isTicking {
                state.isTicking = true
                self.source.resume()  // under the lock, so resume and suspend always alternate
            }
            return id
        }
        return Handle(timers: self, id: id)
    }

    private func cancel(_ id: UInt64) {
        self.state.withLock { _ = $0.entries.removeValue(forKey: id) }
    }

    private func tick() {
        let now = ContinuousClock.now
        let due = self.state.withLock { state -> [Entry] in
            var due: [Entry] = []
            for (id, entry) in state.entries where entry.deadline <= now {
                due.append(entry)
                state.entries[id] = nil
            }
            if state.entries.isEmpty, state.isTicking {
                state.isTicking = false
                self.source.suspend()
            }
            return due
        }
        for entry in due.sorted(by: { $0.deadline < $1.deadline }) { entry.work() }
    }

    private struct Handle: TaskTimer {
        let timers: LoopTaskTimers
        let id: UInt64
        func cancel() { self.timers.cancel(self.id) }
    }
}
