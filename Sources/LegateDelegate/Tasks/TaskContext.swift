import LegateCore
import LegateWire
import Synchronization

/// Where a task runner's reports go: the delegate connection, or a fake in tests.
///
/// Both methods are called with the attempt's lock held (that is what keeps one attempt's updates and result
/// in order): they must return quickly, must not block and must not call back into the runner or the context.
public protocol TaskReporting: Sendable {
    /// Sends a `TaskUpdate` (REQUEST method 3).
    func sendUpdate(_ update: TaskUpdate)
    /// Sends a `TaskResult` (REQUEST method 4); the attempt's last report.
    func sendResult(_ result: TaskResult)
}

/// A cancellable timer handle.
public protocol TaskTimer: Sendable {
    /// Stops the timer if it has not fired yet.
    func cancel()
}

/// Arms timers for the runner (log flushes, assignment timeouts); injected so tests fire them by hand.
public protocol TaskTimerScheduling: Sendable {
    /// Runs `work` once after `delay` unless the returned timer is cancelled first; any thread.
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any TaskTimer
}

/// Timers on Swift concurrency (`Task.sleep`), for runners used outside a `DelegateClient`.
public struct SleepingTaskTimers: TaskTimerScheduling {
    /// Creates the scheduler.
    public init() {}

    /// Sleeps in a new Task, then runs `work` unless cancelled.
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any TaskTimer {
        SleepingTimer(
            task: Task(executorPreference: DispatchTaskExecutor.shared) {
                do { try await Task.sleep(for: delay) } catch { return }
                work()
            })
    }

    private struct SleepingTimer: TaskTimer {
        let task: Task<Void, Never>
        func cancel() { self.task.cancel() }
    }
}

/// Bounds on what one attempt streams back as `TaskUpdate`s.
public struct TaskLogLimits: Sendable, Equatable {
    /// Buffered log is sent at the latest this long after it was reported. Default 100 ms.
    public var flushInterval: Duration
    /// A chunk this large is sent at once, without waiting for the interval. Default 16 KiB.
    public var chunkBytes: Int
    /// Log bytes kept per attempt; beyond this one marker chunk says "[log truncated]". Default 1 MiB.
    public var maxLogBytes: Int
    /// The `started` update waits this long: an attempt that ends sooner reports only its result (which implies
    /// it started), and an earlier update carries `started` itself. Zero sends it at once. Default zero.
    public var startReportDelay: Duration

    /// 100 ms, 16 KiB, 1 MiB, `started` at once.
    public static let defaults = TaskLogLimits(
        flushInterval: .milliseconds(100), chunkBytes: 16 << 10, maxLogBytes: 1 << 20)

    /// Creates limits.
    public init(flushInterval: Duration, chunkBytes: Int, maxLogBytes: Int, startReportDelay: Duration = .zero) {
        self.flushInterval = flushInterval
        self.chunkBytes = max(1, chunkBytes)
        self.maxLogBytes = max(0, maxLogBytes)
        self.startReportDelay = max(.zero, startReportDelay)
    }
}

/// A handler's line back to the manager: progress, status message and log bytes for one attempt.
///
/// Log output is coalesced: at most one `TaskUpdate` per `flushInterval` (100 ms) unless `chunkBytes` (16 KiB)
/// are waiting, which go at once; at most `maxLogBytes` (1 MiB) per attempt, then one "[log truncated]" chunk.
/// Progress and message ride on the next update; every update carries the latest progress percentage.
/// Thread-safe; calls after the attempt ended are ignored.
public final class TaskContext: Sendable {
    /// Why an attempt is ending before its handler returned on its own.
    enum EndReason: Sendable, Equatable {
        case cancelled(String)
        case timedOut(Duration)
    }

    private struct State: Sendable {
        var isClosed = false
        var pendingLog: [UInt8] = []
        var pendingMessage: String?
        var hasPendingProgress = false
        var progress: UInt32 = 0
        var loggedBytes = 0
        var isTruncated = false
        var flushTimer: (any TaskTimer)?
        /// The `started` update is due but not sent yet (see `TaskLogLimits.startReportDelay`).
        var startPending = false
        var startTimer: (any TaskTimer)?
        var endReason: EndReason?
    }

    /// The attempt this context reports on.
    public let execution: TaskExecution
    private let reporter: any TaskReporting
    private let timers: any TaskTimerScheduling
    private let limits: TaskLogLimits
    private let state = Mutex(State())

    /// The marker sent once when the log bound is reached.
    public static let truncationMarker = Array("\n[log truncated]\n".utf8)

    init(
        execution: TaskExecution, reporter: any TaskReporting, timers: any TaskTimerScheduling,
        limits: TaskLogLimits
    ) {
        self.execution = execution
        self.reporter = reporter
        self.timers = timers
        self.limits = limits
    }

    // MARK: - Handler API

    /// Reports progress (0...100, clamped) and, if not empty, a status message.
    public func reportProgress(_ percent: UInt32, message: String = "") {
        self.state.withLock { state in
            guard !state.isClosed else { return }
            state.progress = min(percent, 100)
            state.hasPendingProgress = true
            if !message.isEmpty { state.pendingMessage = message }
            self.armFlush(&state)
        }
    }

    /// Appends UTF-8 text to the attempt's log.
    public func appendLog(_ text: String) {
        self.appendLog(Array(text.utf8))
    }

    /// Appends bytes to the attempt's log (bounded and coalesced as the type documents).
    public func appendLog(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        self.state.withLock { state in
            guard !state.isClosed, !state.isTruncated else { return }
            let room = self.limits.maxLogBytes - state.loggedBytes
            if bytes.count <= room {
                state.pendingLog.append(contentsOf: bytes)
                state.loggedBytes += bytes.count
            } else {
                state.pendingLog.append(contentsOf: bytes.prefix(max(0, room)))
                state.loggedBytes = self.limits.maxLogBytes
                state.pendingLog.append(contentsOf: Self.truncationMarker)
                state.isTruncated = true
            }
            while state.pendingLog.count >= self.limits.chunkBytes {
                let chunk = Array(state.pendingLog.prefix(self.limits.chunkBytes))
                state.pendingLog.removeFirst(self.limits.chunkBytes)
                self.sendUpdate(&state, log: chunk)
            }
            self.armFlush(&state)
        }
    }

    // MARK: - Runner API

    /// Sends the `started` update (first report of the attempt), at once or after `startReportDelay`.
    func sendStarted() {
        self.state.withLock { state in
            guard !state.isClosed else { return }
            guard self.limits.startReportDelay > .zero else {
                self.reporter.sendUpdate(Self.startedUpdate(self.execution))
                return
            }
            state.startPending = true
            state.startTimer = self.timers.schedule(after: self.limits.startReportDelay) { [weak self] in
                self?.startTimerFired()
            }
        }
    }

    private func startTimerFired() {
        self.state.withLock { state in
            state.startTimer = nil
            guard !state.isClosed, state.startPending else { return }
            state.startPending = false
            self.reporter.sendUpdate(Self.startedUpdate(self.execution))
        }
    }

    private static func startedUpdate(_ execution: TaskExecution) -> TaskUpdate {
        var update = TaskUpdate(taskID: execution.taskID, attempt: execution.attempt)
        update.started = true
        return update
    }

    /// Records why the attempt is being stopped; the first reason wins. False once closed.
    @discardableResult
    func markEnding(_ reason: EndReason) -> Bool {
        self.state.withLock { state in
            guard !state.isClosed else { return false }
            if state.endReason == nil { state.endReason = reason }
            return true
        }
    }

    /// Flushes what is pending and sends the result built from the handler's end; no-op once closed.
    func finish(_ end: Result<TaskOutput, any Error>) {
        self.state.withLock { state in
            guard !state.isClosed else { return }
            state.flushTimer?.cancel()
            state.flushTimer = nil
            if !state.pendingLog.isEmpty || state.hasPendingProgress || state.pendingMessage != nil {
                let log = state.pendingLog
                state.pendingLog = []
                self.sendUpdate(&state, log: log)
            }
            state.isClosed = true
            state.startPending = false  // the result implies the start
            state.startTimer?.cancel()
            state.startTimer = nil
            self.reporter.sendResult(Self.result(for: self.execution, end: end, reason: state.endReason))
        }
    }

    /// Closes without sending anything more (connection lost, or the manager said the attempt is stale).
    func abandon() {
        self.state.withLock { state in
            state.isClosed = true
            state.startTimer?.cancel()
            state.startTimer = nil
            state.flushTimer?.cancel()
            state.flushTimer = nil
            state.pendingLog = []
        }
    }

    // MARK: - Internals

    private func armFlush(_ state: inout State) {
        let hasPending = !state.pendingLog.isEmpty || state.hasPendingProgress || state.pendingMessage != nil
        guard hasPending, state.flushTimer == nil else { return }
        state.flushTimer = self.timers.schedule(after: self.limits.flushInterval) { [weak self] in
            self?.flushTimerFired()
        }
    }

    private func flushTimerFired() {
        self.state.withLock { state in
            state.flushTimer = nil
            guard !state.isClosed else { return }
            guard !state.pendingLog.isEmpty || state.hasPendingProgress || state.pendingMessage != nil else { return }
            let log = state.pendingLog
            state.pendingLog = []
            self.sendUpdate(&state, log: log)
        }
    }

    private func sendUpdate(_ state: inout State, log: [UInt8]) {
        var update = TaskUpdate(taskID: self.execution.taskID, attempt: self.execution.attempt)
        if state.startPending {
            update.started = true
            state.startPending = false
            state.startTimer?.cancel()
            state.startTimer = nil
        }
        update.progressPercent = state.progress
        update.message = state.pendingMessage ?? ""
        update.logChunk = log
        state.pendingMessage = nil
        state.hasPendingProgress = false
        self.reporter.sendUpdate(update)
    }

    /// Maps how the handler ended, and why the runner stopped it (if it did), to a `TaskResult`.
    static func result(for execution: TaskExecution, end: Result<TaskOutput, any Error>, reason: EndReason?)
        -> TaskResult
    {
        var result = TaskResult(taskID: execution.taskID, attempt: execution.attempt)
        switch end {
        case .success(let output):
            result.outcome = .succeeded
            result.output = output.output
            result.exitCode = output.exitCode
        case .failure(let error as TaskError):
            switch error {
            case .failed(_, let exitCode, let output):
                result.exitCode = exitCode
                result.output = output
                result.outcome = .failed
            case .timedOut(_, let output):
                result.output = output
                result.outcome = .timedOut
            default:
                result.outcome = .failed
            }
            result.error = error.description
        case .failure(_ as CancellationError):
            result.outcome = .cancelled
            result.error = "the \(execution.type) handler stopped: cancelled"
        case .failure(let error):
            result.outcome = .failed
            result.error = "the \(execution.type) handler failed: \(error)"
        }
        switch reason {
        case .cancelled(let why)?:
            result.outcome = .cancelled
            result.error = why.isEmpty ? "cancelled by the manager" : "cancelled by the manager: \(why)"
        case .timedOut(let limit)?:
            result.outcome = .timedOut
            result.error = "timed out after \(limit.wireMilliseconds) ms (the task's timeout); the work was stopped"
        case nil:
            break
        }
        return result
    }
}
