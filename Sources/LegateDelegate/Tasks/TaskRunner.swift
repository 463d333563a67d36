import Dispatch
import LegateWire
import Synchronization

/// Runs task attempts with their handlers: enforces the concurrency limit, runs each handler in its own Swift
/// Task, applies the assignment's timeout, cancels on request and maps how a handler ended to a `TaskResult`.
///
/// It talks to the connection only through `TaskReporting`, given per assignment, so it can be tested without
/// sockets. Thread-safe; `DelegateClient` calls it on its event loop.
public final class TaskRunner: Sendable {
    /// What `assign` did with an assignment.
    public enum Decision: Sendable, Equatable {
        /// The handler is running (a `started` update was sent).
        case started
        /// It cannot run here; a FAILED result with `reason` was sent.
        case refused(reason: String)
        /// This attempt is already running here (a repeated push); nothing was sent.
        case duplicate
    }

    private struct AttemptKey: Hashable, Sendable {
        var taskID: String
        var attempt: UInt32
    }

    private struct Running: Sendable {
        let context: TaskContext
        var task: Task<Void, Never>?
        var timeout: (any TaskTimer)?
    }

    /// Attempts that may run at once.
    public let capacity: Int
    /// The handlers, by type.
    public let handlers: TaskHandlerRegistry
    let timers: any TaskTimerScheduling
    private let logLimits: TaskLogLimits
    private let running = Mutex<[AttemptKey: Running]>([:])

    /// Creates a runner running at most `capacity` (at least 1) attempts at once.
    public init(
        handlers: TaskHandlerRegistry, capacity: Int, timers: any TaskTimerScheduling = SleepingTaskTimers(),
        logLimits: TaskLogLimits = .defaults
    ) {
        self.handlers = handlers
        self.capacity = max(1, capacity)
        self.timers = timers
        self.logLimits = logLimits
    }

    /// Attempts running now (for `Heartbeat.running_tasks`).
    public var runningCount: Int { self.running.withLock { $0.count } }

    /// Free slots (for `Heartbeat.free_capacity`).
    public var freeCapacity: Int { max(0, self.capacity - self.runningCount) }

    /// Starts `assignment` (call after its PUSH_ACK was sent) or refuses it with a FAILED result.
    @discardableResult
    public func assign(
        _ assignment: TaskAssignment, reporter: any TaskReporting, secretEnvironment: [String: String] = [:]
    ) -> Decision {
        var built = TaskExecution(
            taskID: assignment.taskID, attempt: assignment.attempt, type: assignment.type,
            payload: assignment.payload,
            timeout: assignment.timeoutMs == 0 ? nil : .milliseconds(Int64(assignment.timeoutMs)))
        built.secretEnvironment = secretEnvironment
        let execution = built
        let key = AttemptKey(taskID: assignment.taskID, attempt: assignment.attempt)
        let context = TaskContext(execution: execution, reporter: reporter, timers: self.timers, limits: self.logLimits)
        let handler = self.handlers.handler(for: assignment.type)
        let supported = handler == nil ? self.handlers.types : []
        let admission = self.running.withLock { running -> Admission in
            if running[key] != nil { return .duplicate }
            guard let handler else { return .refused(.unsupportedType(assignment.type, supported: supported)) }
            guard running.count < self.capacity else { return .refused(.atCapacity(self.capacity)) }
            // Inserted and started under the lock: the Task's end takes the same lock to remove the entry.
            context.sendStarted()
            var entry = Running(context: context)
            entry.task = Task(executorPreference: DispatchTaskExecutor.shared) {
                await self.run(handler, execution: execution, context: context, key: key)
            }
            if let timeout = execution.timeout {
                entry.timeout = self.timers.schedule(after: timeout) { self.stop(key, reason: .timedOut(timeout)) }
            }
            running[key] = entry
            return .started
        }
        switch admission {
        case .started:
            return .started
        case .duplicate:
            return .duplicate
        case .refused(let error):
            context.finish(.failure(error))
            return .refused(reason: error.description)
        }
    }

    private enum Admission {
        case started
        case duplicate
        case refused(TaskError)
    }

    /// Cancels the running attempt (TASK_CANCEL); its end is reported as CANCELLED. False if it is not running.
    @discardableResult
    public func cancel(taskID: String, attempt: UInt32, reason: String) -> Bool {
        self.stop(AttemptKey(taskID: taskID, attempt: attempt), reason: .cancelled(reason))
    }

    /// Stops one attempt and reports nothing more for it (the manager refused it as stale). False if unknown.
    @discardableResult
    public func abandon(taskID: String, attempt: UInt32) -> Bool {
        let key = AttemptKey(taskID: taskID, attempt: attempt)
        guard let entry = self.running.withLock({ $0.removeValue(forKey: key) }) else { return false }
        Self.silence(entry)
        return true
    }

    /// Stops every attempt and reports nothing more for them (the connection is lost; the manager re-dispatches
    /// them as new attempts). Their slots are free at once, even while their handlers wind down.
    @discardableResult
    public func abandonAll() -> [(taskID: String, attempt: UInt32)] {
        let entries = self.running.withLock { running -> [Running] in
            defer { running.removeAll() }
            return Array(running.values)
        }
        for entry in entries { Self.silence(entry) }
        return entries.map { ($0.context.execution.taskID, $0.context.execution.attempt) }
    }

    // MARK: - Internals

    private static func silence(_ entry: Running) {
        entry.context.abandon()
        entry.timeout?.cancel()
        entry.task?.cancel()
    }

    @discardableResult
    private func stop(_ key: AttemptKey, reason: TaskContext.EndReason) -> Bool {
        guard let entry = self.running.withLock({ $0[key] }) else { return false }
        guard entry.context.markEnding(reason) else { return false }
        entry.task?.cancel()
        return true
    }

    private func run(_ handler: any TaskHandler, execution: TaskExecution, context: TaskContext, key: AttemptKey)
        async
    {
        let end: Result<TaskOutput, any Error>
        do {
            end = .success(try await handler.run(execution, context: context))
        } catch {
            end = .failure(error)
        }
        let entry = self.running.withLock { running -> Running? in
            guard let entry = running[key], entry.context === context else { return nil }
            return running.removeValue(forKey: key)
        }
        entry?.timeout?.cancel()
        // An abandoned attempt's context is closed, so this sends nothing.
        context.finish(end)
    }
}

/// Runs task handlers on Dispatch's global queue instead of the cooperative pool, whose few threads (one per core)
/// an embedding program that blocks them would otherwise take from its delegate's tasks.
final class DispatchTaskExecutor: TaskExecutor {
    /// The executor every runner uses.
    static let shared = DispatchTaskExecutor()

    private let queue = DispatchQueue.global(qos: .userInitiated)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        self.queue.async { job.runSynchronously(on: executor) }
    }
}
