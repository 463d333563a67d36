import Dispatch
import LegateStore
import Synchronization

/// The node's own work, off the loops (it blocks on the store and on fan-outs), on two serial queues so a long
/// run of controls never delays the lease: renew the lease and remove expired nodes every `renewInterval`; apply
/// queued controls every `pollInterval`, or at once when woken by a notification.
/// `@unchecked Sendable`: `timers` is set once in `init`; afterwards only `activate` and `cancel` are called on
/// them, which Dispatch allows from any thread.
final class NodeTimers: @unchecked Sendable {
    private let services: ManagerServices
    private let queue = DispatchQueue(label: "legate.nodes")
    private let leaseQueue = DispatchQueue(label: "legate.nodes.lease")
    /// Timers created on start, touched only on `queue`.
    private let timers: [DispatchSourceTimer]
    private let started = Atomic<Bool>(false)
    private let wakePending = Atomic<Bool>(false)
    /// The store's notification listener for this node, while running (none for SQLite).
    private let listener = Mutex<(any NodeNotificationListening)?>(nil)

    /// Creates the timers over `services`; nothing runs until `start`.
    init(services: ManagerServices) {
        self.services = services
        let configuration = services.configuration.nodes
        let renew = DispatchSource.makeTimerSource(queue: self.leaseQueue)
        renew.schedule(
            deadline: .now() + Self.interval(configuration.renewInterval),
            repeating: Self.interval(configuration.renewInterval))
        renew.setEventHandler {
            do throws(StoreError) {
                try services.cluster.renew()
            } catch {
                services.log.log(.warning, "node lease not renewed; will retry", ["error": error.description])
            }
        }
        let poll = DispatchSource.makeTimerSource(queue: self.queue)
        poll.schedule(
            deadline: .now() + Self.interval(configuration.pollInterval),
            repeating: Self.interval(configuration.pollInterval))
        poll.setEventHandler { services.applyQueuedControls() }
        self.timers = [renew, poll]
    }

    /// Starts renewing and polling.
    func start() {
        guard !self.started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for timer in self.timers { timer.activate() }
        let listener = self.services.store.listen(nodeID: self.services.cluster.nodeID) { [weak self] in self?.wake() }
        self.listener.withLock { $0 = listener }
    }

    deinit {
        // Dispatch traps when a source is released without ever being activated (a start that failed later).
        for timer in self.timers {
            timer.cancel()
            if !self.started.load(ordering: .acquiring) { timer.activate() }
        }
    }

    /// Applies queued controls now (a notification arrived) instead of at the next poll.
    func wake() {
        // A burst of notifications needs one read of the queue, not one each.
        guard !self.wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        self.queue.async {
            self.wakePending.store(false, ordering: .releasing)
            self.services.applyQueuedControls()
        }
    }

    /// Stops the timers and waits for a running renewal or poll to finish.
    func stop() {
        self.listener.withLock { $0 }?.stop()
        for timer in self.timers { timer.cancel() }
        self.leaseQueue.sync {}
        self.queue.sync {}
    }

    private static func interval(_ duration: Duration) -> DispatchTimeInterval {
        .milliseconds(Int(max(1, duration.int64Milliseconds)))
    }
}
