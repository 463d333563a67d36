import Dispatch
import LegateCore
import LegateNet
import Synchronization

/// What one fan-out reached.
struct FanOutReport: Sendable, Equatable {
    /// Connections the push was meant for.
    var connected = 0
    /// Pushes written to a connection.
    var told = 0
    /// Targets that finished as asked (PUSH_ACK, or the push written when only that is awaited) in time.
    var acknowledged = 0
    /// From the start given to the last acknowledgement (or the deadline).
    var duration: Duration = .zero

    /// Targets that did not acknowledge (connection closed, nothing sent, or the deadline passed).
    var notReached: Int { self.connected - self.acknowledged }
}

/// One push fan-out for revoke, rotate, delete and approval decisions: groups the targets by event loop (one hop
/// per loop, not per connection), sends, collects the outcomes until all are final or the deadline passes.
/// Blocks the caller while it waits: call it off the event loops (the admin queue, a sweep).
final class PushFanOut: Sendable {
    /// What ends one target's push.
    enum Awaiting: Sendable {
        /// The delegate's PUSH_ACK (or the connection closing without one).
        case acknowledgement
        /// The push being written (or refused): decisions are not acknowledged.
        case written
    }

    /// Sends one push on the target's loop; calls the progress closure with `.sent`, then the final outcome.
    typealias Send = @Sendable (any LiveDelegateConnection, @escaping @Sendable (PushEvent) -> Void) -> Void

    private let clock: any ServiceClock

    /// Creates a fan-out timing itself on `clock`.
    init(clock: any ServiceClock) {
        self.clock = clock
    }

    /// Pushes to every target and waits until each finished as `awaiting` says or `deadline` passed; then
    /// `afterDeadline` runs on each target's loop (to close connections that did not acknowledge).
    func push(
        to targets: [any LiveDelegateConnection], awaiting: Awaiting, deadline: Duration,
        started: ContinuousClock.Instant? = nil, send: @escaping Send,
        afterDeadline: (@Sendable (any LiveDelegateConnection) -> Void)? = nil
    ) -> FanOutReport {
        let started = started ?? self.clock.monotonicNow()
        guard !targets.isEmpty else { return FanOutReport() }
        let collector = FanOutCollector(expected: targets.count, awaiting: awaiting, clock: self.clock)
        let byLoop = Self.groupedByLoop(targets)
        for (loop, group) in byLoop {
            loop.execute {
                for connection in group { send(connection) { collector.record($0) } }
            }
        }
        let outcome = collector.wait(deadline: deadline)
        if let afterDeadline {
            for (loop, group) in byLoop {
                loop.execute { for connection in group { afterDeadline(connection) } }
            }
        }
        return FanOutReport(
            connected: targets.count, told: outcome.told, acknowledged: outcome.acknowledged,
            duration: (outcome.last ?? self.clock.monotonicNow()) - started)
    }

    /// Targets grouped by the loop that owns them.
    static func groupedByLoop(_ connections: [any LiveDelegateConnection])
        -> [(EventLoop, [any LiveDelegateConnection])]
    {
        var groups: [ObjectIdentifier: (EventLoop, [any LiveDelegateConnection])] = [:]
        for connection in connections {
            let loop = connection.eventLoop
            groups[ObjectIdentifier(loop), default: (loop, [])].1.append(connection)
        }
        return Array(groups.values)
    }
}

/// Collects the outcomes of one fan-out's pushes from many loops.
private final class FanOutCollector: Sendable {
    private struct Counts {
        var told = 0
        var acknowledged = 0
        var pending: Int
        var last: ContinuousClock.Instant?
    }

    private let counts: Mutex<Counts>
    private let finished = DispatchSemaphore(value: 0)
    private let awaiting: PushFanOut.Awaiting
    private let clock: any ServiceClock

    init(expected: Int, awaiting: PushFanOut.Awaiting, clock: any ServiceClock) {
        self.counts = Mutex(Counts(pending: expected))
        self.awaiting = awaiting
        self.clock = clock
    }

    func record(_ event: PushEvent) {
        let isLast = self.counts.withLock { counts -> Bool in
            switch (event, self.awaiting) {
            case (.sent, .acknowledgement):
                counts.told += 1
                return false
            case (.sent, .written), (.acknowledged, _):
                if event == .sent { counts.told += 1 }
                counts.acknowledged += 1
                counts.last = self.clock.monotonicNow()
            case (.closedWithoutAcknowledgement, _), (.notSent, _):
                break
            }
            counts.pending -= 1
            return counts.pending == 0
        }
        if isLast { self.finished.signal() }
    }

    /// Waits until every target reported a final outcome or `deadline` passed.
    func wait(deadline: Duration) -> (told: Int, acknowledged: Int, last: ContinuousClock.Instant?) {
        _ = self.finished.wait(timeout: .now() + deadline.dispatchInterval)
        return self.counts.withLock { ($0.told, $0.acknowledged, $0.last) }
    }
}
