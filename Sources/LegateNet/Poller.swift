internal import CLegateNetShims
internal import Dispatch
#if canImport(Glibc)
internal import Glibc
#endif

/// Something registered in a loop's Poller: told which epoll events its fd reported.
protocol PollTarget: AnyObject {
    /// Handles `events` (EPOLLIN, EPOLLOUT, ...) on the loop's queue; true when a per-turn read budget was hit
    /// and the fd may still hold data (the poller then polls again before it sleeps).
    func pollEvents(_ events: UInt32) -> Bool
}

/// Identifies one registration: a slot index and the slot's generation when it was registered.
struct PollToken: Equatable {
    let index: UInt32
    let generation: UInt32
    var raw: UInt64 { UInt64(self.generation) << 32 | UInt64(self.index) }
}

/// One epoll instance per EventLoop, driven by ONE DispatchSourceRead on the epoll fd, targeting the loop's
/// queue: a readiness wake costs one worker wake per loop turn instead of one per connection, and ready
/// connections are handled inline, in bounded batches.
///
/// Used only on the loop's queue. Registrations live in a slot table; `epoll_data` carries
/// `generation << 32 | index`, never a pointer, so an event for a registration removed earlier in the same
/// batch (closed by its own or another connection's handler), or for a slot or fd number reused since, is
/// recognised by its stale generation and dropped. Closing is "EPOLL_CTL_DEL, then close(fd)".
final class Poller {
    private struct Slot {
        var target: PollTarget?
        var generation: UInt32
    }

    /// Events fetched per epoll_wait.
    static let batchEvents = Int(LEGATE_EPOLL_MAX_EVENTS)
    /// epoll_wait rounds per wake before yielding the queue to other work (timers, execute).
    static let roundsPerTurn = 4

    /// EPOLLIN | EPOLLRDHUP.
    static let readable: UInt32 = LEGATE_EPOLLIN | LEGATE_EPOLLRDHUP
    /// EPOLLOUT.
    static let writable: UInt32 = LEGATE_EPOLLOUT
    /// Events that mean "read now": readable, EPOLLERR, EPOLLHUP.
    static let readEvents: UInt32 = Poller.readable | LEGATE_EPOLLERR | LEGATE_EPOLLHUP

    private let queue: DispatchQueue
    private var epollFD: Int32 = -1
    private var source: DispatchSourceRead?
    private var slots: [Slot] = []
    private var freeSlots: [UInt32] = []
    private let events: UnsafeMutablePointer<legate_poll_event>
    private var repollScheduled = false
    /// Registrations currently live.
    private(set) var registeredCount = 0

    init(queue: DispatchQueue) {
        self.queue = queue
        self.events = .allocate(capacity: Self.batchEvents)
    }

    deinit {
        // The source's cancel handler closes the epoll fd once libdispatch no longer watches it.
        self.source?.cancel()
        self.events.deallocate()
    }

    /// Creates the epoll fd and its dispatch source on first use (a loop that never gets a connection has none).
    private func start() throws(NetError) {
        guard self.epollFD < 0 else { return }
        let fd = legate_epoll_create()
        guard fd >= 0 else { throw NetError.fromErrno("epoll_create1") }
        self.epollFD = fd
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: self.queue)
        // Runs on `queue` only (see the class comment), so the non-Sendable capture is confined there.
        nonisolated(unsafe) let weakSelf = WeakPoller(self)
        source.setEventHandler { weakSelf.poller?.poll() }
        source.setCancelHandler { _ = Glibc.close(fd) }
        self.source = source
        source.resume()
    }

    /// Adds `fd` with `events` (level-triggered) for `target`.
    func register(_ fd: Int32, events: UInt32, target: PollTarget) throws(NetError) -> PollToken {
        try self.start()
        let index: UInt32
        if let reused = self.freeSlots.popLast() {
            index = reused
        } else {
            index = UInt32(truncatingIfNeeded: self.slots.count)
            self.slots.append(Slot(target: nil, generation: 0))
        }
        let token = PollToken(index: index, generation: self.slots[Int(index)].generation)
        guard legate_epoll_ctl(self.epollFD, LEGATE_EPOLL_CTL_ADD, fd, events, token.raw) == 0 else {
            let error = NetError.fromErrno("epoll_ctl(ADD)")
            self.freeSlots.append(index)
            throw error
        }
        self.slots[Int(index)].target = target
        self.registeredCount += 1
        return token
    }

    /// Changes the interest set of a registered fd (EPOLLOUT only while output is blocked).
    func modify(_ fd: Int32, token: PollToken, events: UInt32) throws(NetError) {
        guard legate_epoll_ctl(self.epollFD, LEGATE_EPOLL_CTL_MOD, fd, events, token.raw) == 0 else {
            throw NetError.fromErrno("epoll_ctl(MOD)")
        }
    }

    /// Removes `fd` (call before closing it); events already fetched for `token` are dropped from now on.
    func deregister(_ fd: Int32, token: PollToken) {
        let index = Int(token.index)
        guard index < self.slots.count, self.slots[index].generation == token.generation,
              self.slots[index].target != nil else { return }
        _ = legate_epoll_ctl(self.epollFD, LEGATE_EPOLL_CTL_DEL, fd, 0, 0)
        self.slots[index].target = nil
        self.slots[index].generation &+= 1
        self.freeSlots.append(token.index)
        self.registeredCount -= 1
    }

    /// Drains ready events in bounded batches and hands each to its live target, inline on the queue.
    func poll() {
        self.repollScheduled = false
        guard self.epollFD >= 0 else { return }
        for _ in 0..<Self.roundsPerTurn {
            let count = legate_epoll_wait(self.epollFD, self.events, Int32(Self.batchEvents), 0)
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            var more = count == Int32(Self.batchEvents)
            for offset in 0..<Int(count) {
                let ready = self.events[offset]
                let raw = ready.data
                let index = Int(truncatingIfNeeded: raw & 0xffff_ffff)
                let generation = UInt32(truncatingIfNeeded: raw >> 32)
                guard index < self.slots.count, self.slots[index].generation == generation,
                      let target = self.slots[index].target else { continue }
                if target.pollEvents(ready.events) { more = true }
            }
            if !more { return }
        }
        // Still busy after the bounded rounds: continue on a later turn, after queued timers and work, whether or
        // not libdispatch reports the epoll fd readable again.
        guard !self.repollScheduled else { return }
        self.repollScheduled = true
        nonisolated(unsafe) let weakSelf = WeakPoller(self)
        self.queue.async { weakSelf.poller?.poll() }
    }
}

/// A weak reference to a Poller for the handlers libdispatch keeps (they must not keep the loop's poller alive).
private struct WeakPoller {
    weak var poller: Poller?
    init(_ poller: Poller) { self.poller = poller }
}
