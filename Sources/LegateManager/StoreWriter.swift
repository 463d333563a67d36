import Dispatch
import LegateCore
import LegateNet
import LegateStore
import Synchronization

/// Runs store writes off the event loops, committing whatever queued up meanwhile in one transaction
/// (group commit), so a reconnect storm of thousands of registrations costs a few fsyncs, not thousands.
///
/// A completion runs only after its writes are durable, and is told if they failed; callers acknowledge to
/// peers from the completion, never before.
public final class StoreWriter: Sendable {
    /// Called with nil once the writes are durable, or with the error that kept them out.
    public typealias Completion = @Sendable (StoreError?) -> Void

    private struct Pending {
        var batches: [(writes: [StoreWrite], completion: Completion?)] = []
        var drainScheduled = false
    }

    private let store: any StateStore
    private let queue = DispatchQueue(label: "legate.store-writer")
    private let pending = Mutex(Pending())
    private let log: any LogSink
    private let clock: any ServiceClock
    private let metrics: ManagerMetrics

    /// Creates a writer over `store`.
    public convenience init(store: any StateStore, log: any LogSink) {
        self.init(store: store, log: log, clock: SystemClock(), metrics: ManagerMetrics())
    }

    /// Creates a writer over `store` that times every transaction into `metrics` on `clock`.
    init(store: any StateStore, log: any LogSink, clock: any ServiceClock, metrics: ManagerMetrics) {
        self.store = store
        self.log = log
        self.clock = clock
        self.metrics = metrics
    }

    /// Applies `writes` in one transaction, timed.
    private func timedApply(_ writes: [StoreWrite]) throws(StoreError) {
        let started = self.clock.monotonicNow()
        do {
            try self.store.apply(writes)
        } catch {
            self.metrics.storeApplied(self.clock.monotonicNow() - started, succeeded: false)
            throw error
        }
        self.metrics.storeApplied(self.clock.monotonicNow() - started, succeeded: true)
    }

    /// Queues `writes`; `completion` runs on the writer's queue when they are durable or have failed.
    public func submit(_ writes: [StoreWrite], completion: Completion? = nil) {
        let shouldSchedule = self.pending.withLock { pending -> Bool in
            pending.batches.append((writes, completion))
            if pending.drainScheduled { return false }
            pending.drainScheduled = true
            return true
        }
        if shouldSchedule {
            self.queue.async { self.drain() }
        }
    }

    /// Blocks until everything queued before the call is written (used at shutdown and in tests).
    public func flush() {
        self.queue.sync {}
        self.queue.sync { self.drain() }
    }

    private func drain() {
        let batches = self.pending.withLock { pending -> [(writes: [StoreWrite], completion: Completion?)] in
            pending.drainScheduled = false
            defer { pending.batches.removeAll() }
            return pending.batches
        }
        guard !batches.isEmpty else { return }
        do {
            try self.timedApply(batches.flatMap(\.writes))
            for batch in batches { batch.completion?(nil) }
        } catch {
            // One bad batch must not sink the others: retry each alone so only the guilty one fails.
            for batch in batches {
                do {
                    try self.timedApply(batch.writes)
                    batch.completion?(nil)
                } catch {
                    self.log.log(.error, "store write failed", ["error": "\(error)"])
                    batch.completion?(error)
                }
            }
        }
    }
}

extension StoreWriter {
    /// Submits `writes` and waits until they are durable (acknowledge only what is stored). Blocks: call it off
    /// the event loops; no lock may be held across it.
    func writeDurably(_ writes: [StoreWrite]) throws(StoreError) {
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<StoreError?>(nil)
        self.submit(writes) { error in
            failure.withLock { $0 = error }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
