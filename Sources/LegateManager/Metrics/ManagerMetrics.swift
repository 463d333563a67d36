import LegateCore
import Synchronization

/// Metrics that are not per loop: histograms and counters of the store writer, the task service and the token
/// service, observed off the event loops.
final class ManagerMetrics: Sendable {
    /// Duration of one store transaction (a group commit of queued writes, or a readiness probe).
    let storeApplyDuration = MetricHistogram(bounds: MetricHistogram.fastBounds)
    /// Store transactions that failed.
    let storeApplyFailures = MetricCounter()
    /// False from a failed store write until the next one succeeds.
    private let storeWritable = Atomic<Bool>(true)
    /// Submission to first assignment of a task.
    let taskDispatchLatency = MetricHistogram(bounds: MetricHistogram.taskBounds)
    /// Submission to final state of a task.
    let taskDuration = MetricHistogram(bounds: MetricHistogram.taskBounds)
    /// Tasks that reached a final state, by that state.
    let tasksCompleted = LabeledCounters<TaskOutcomeLabel>()
    /// Attempts a delegate did not acknowledge within the lease.
    let leaseExpirations = MetricCounter()
    /// Time from a revoke's start to the end of its SELF_DESTRUCT fan-out.
    let revocationFanOutDuration = MetricHistogram(bounds: MetricHistogram.fastBounds + [30, 60])


    /// Creates zeroed metrics.
    init() {}

    /// Whether the last store write succeeded.
    var isStoreWritable: Bool { self.storeWritable.load(ordering: .relaxed) }

    /// Records one store transaction.
    func storeApplied(_ duration: Duration, succeeded: Bool) {
        self.storeApplyDuration.observe(duration)
        if !succeeded { self.storeApplyFailures.increment() }
        self.storeWritable.store(succeeded, ordering: .relaxed)
    }

    /// Counts what a batch of task board effects says happened, at `now` (Unix milliseconds).
    func observe(_ effects: [TaskBoard.Effect], now: Int64) {
        for effect in effects {
            switch effect {
            case .assign(let task) where task.attempt == 1:
                self.taskDispatchLatency.observe(seconds: Double(now - task.createdAt) / 1000)
            case .finished(let task):
                if let label = TaskOutcomeLabel(rawValue: task.status.rawValue) { self.tasksCompleted.increment(label) }
                self.taskDuration.observe(seconds: Double((task.finishedAt ?? now) - task.createdAt) / 1000)
            case .cancelAttempt(_, _, _, let reason) where reason == TaskBoard.leaseExpiredReason:
                self.leaseExpirations.increment()
            default:
                break
            }
        }
    }
}

/// Final task states (the `outcome` label of `legate_tasks_completed_total`).
enum TaskOutcomeLabel: String, CaseIterable, Sendable {
    case succeeded
    case failed
    case timedOut = "timed_out"
    case cancelled
}
