import LegateCore

/// Task dispatch settings: timings, retry policy, and the bounds that keep task memory finite.
public struct TaskConfiguration: Sendable, Equatable {
    /// Scheduler timings (lease, cancel grace).
    public var board = TaskBoard.Configuration()
    /// Timeout of a task that names none. Default 10 minutes.
    public var defaultTimeout: Duration = .seconds(600)
    /// Longest timeout a task may ask for. Default 24 hours.
    public var maxTimeout: Duration = .seconds(86_400)
    /// Attempts a task may lose before it fails, when it names none. Default 3.
    public var defaultMaxAttempts: UInt32 = 3
    /// Log bytes kept per task; later chunks are dropped. Default 1 MiB.
    public var maxLogBytesPerTask: Int = 1 << 20
    /// How often leases and timeouts are checked. Default 100 ms.
    public var tickInterval: Duration = .milliseconds(100)
    /// Tasks queued or running at once (they live in memory); submissions beyond are refused with
    /// RESOURCE_EXHAUSTED. Default 200,000.
    public var maxLiveTasks: Int = 200_000
    /// Largest payload one task may carry (`legate-manager --max-task-payload-bytes`); larger ones are refused
    /// with INVALID_ARGUMENT at submit. Default 1 MiB. A payload must also fit, with its assignment, in one frame.
    public var maxPayloadBytes: Int = 1 << 20
    /// Payload and output bytes all queued and running tasks may hold in memory together
    /// (`legate-manager --max-live-task-bytes`); submissions beyond are refused with RESOURCE_EXHAUSTED (retry
    /// later). Default 1 GiB.
    public var maxLiveTaskBytes: Int = 1 << 30
    /// Bytes the cache of recently finished tasks may hold (answers TaskWait and TaskGet without a store read);
    /// the oldest are forgotten beyond it. Default 16 MiB.
    public var finishedCacheBytes: Int = 16 << 20
    /// Most tasks one TaskSubmit or TaskWait may name.
    public var maxTasksPerCall: Int = 1000

    /// The defaults.
    public init() {}
}
