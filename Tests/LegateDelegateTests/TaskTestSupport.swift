import LegateWire
import Synchronization

@testable import LegateDelegate

/// Everything appended so far, and async waits for a condition on it, each with a deadline.
final class Recorder<Element: Sendable>: Sendable {
    private struct Waiter {
        let id: Int
        let predicate: @Sendable ([Element]) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var items: [Element] = []
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Appends and wakes the waiters whose condition now holds.
    func append(_ element: Element) {
        let ready = self.state.withLock { state -> [Waiter] in
            state.items.append(element)
            let items = state.items
            let ready = state.waiters.filter { $0.predicate(items) }
            state.waiters.removeAll { $0.predicate(items) }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// Everything so far.
    var all: [Element] { self.state.withLock { $0.items } }

    /// Waits until `predicate` holds for everything appended so far; false after `timeout`. The default is long
    /// because a loaded machine may take seconds to start a process; a passing wait returns at once.
    func wait(timeout: Duration = .seconds(30), until predicate: @escaping @Sendable ([Element]) -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = self.state.withLock { state -> Int? in
                if predicate(state.items) { return nil }
                state.nextID += 1
                state.waiters.append(Waiter(id: state.nextID, predicate: predicate, continuation: continuation))
                return state.nextID
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)  // the deadline only; waking is by `append`
                let expired = self.state.withLock { state -> Waiter? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                expired?.continuation.resume(returning: false)
            }
        }
    }
}

/// A report the runner made.
enum Report: Sendable, Equatable {
    case update(TaskUpdate)
    case result(TaskResult)

    var result: TaskResult? {
        if case .result(let result) = self { return result }
        return nil
    }

    var update: TaskUpdate? {
        if case .update(let update) = self { return update }
        return nil
    }
}

/// A fake connection: records what the runner sends.
final class RecordingReporter: TaskReporting {
    let reports = Recorder<Report>()

    func sendUpdate(_ update: TaskUpdate) { self.reports.append(.update(update)) }
    func sendResult(_ result: TaskResult) { self.reports.append(.result(result)) }

    var results: [TaskResult] { self.reports.all.compactMap(\.result) }
    var updates: [TaskUpdate] { self.reports.all.compactMap(\.update) }

    /// Waits for the result of `taskID` and returns it (nil after the deadline).
    /// The deadline is generous on purpose: in a full `swift test` run the manager suites' synchronous waits occupy
    /// cooperative threads, and handler Tasks may wait seconds for one; a passing test returns at the result.
    func result(of taskID: String, timeout: Duration = .seconds(60)) async -> TaskResult? {
        _ = await self.reports.wait(timeout: timeout) { reports in
            reports.contains { $0.result?.taskID == taskID }
        }
        return self.results.first { $0.taskID == taskID }
    }

    /// Waits until `count` started updates were sent.
    func waitForStarted(_ count: Int) async -> Bool {
        await self.reports.wait { reports in reports.filter { $0.update?.started == true }.count >= count }
    }
}

/// Timers fired by hand: time is whatever the test says it is.
final class ManualTimers: TaskTimerScheduling {
    final class Timer: TaskTimer {
        let delay: Duration
        let work: @Sendable () -> Void
        let isCancelled = Atomic(false)
        init(delay: Duration, work: @escaping @Sendable () -> Void) {
            self.delay = delay
            self.work = work
        }
        func cancel() { self.isCancelled.store(true, ordering: .relaxed) }
    }

    private let timers = Mutex<[Timer]>([])

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any TaskTimer {
        let timer = Timer(delay: delay, work: work)
        self.timers.withLock { $0.append(timer) }
        return timer
    }

    /// Timers armed and neither fired nor cancelled.
    var pending: [Timer] {
        self.timers.withLock { timers in timers.filter { !$0.isCancelled.load(ordering: .relaxed) } }
    }

    /// Fires every pending timer (each once).
    func fireAll() {
        let due = self.timers.withLock { timers -> [Timer] in
            defer { timers.removeAll() }
            return timers
        }
        for timer in due where !timer.isCancelled.load(ordering: .relaxed) { timer.work() }
    }
}

/// Sleeps until cancelled (the work of a long task); tells `started` when it begins.
struct SleepingHandler: TaskHandler {
    let type: String
    let started = Recorder<String>()

    init(type: String = "sleep") { self.type = type }

    func run(_ task: TaskExecution, context: TaskContext) async throws -> TaskOutput {
        self.started.append(task.taskID)
        try await Task.sleep(for: .seconds(60))
        return TaskOutput(output: Array("woke".utf8))
    }
}

/// Ends the way it is told to.
struct ScriptedHandler: TaskHandler {
    let type: String
    let end: @Sendable (TaskExecution, TaskContext) async throws -> TaskOutput

    func run(_ task: TaskExecution, context: TaskContext) async throws -> TaskOutput {
        try await self.end(task, context)
    }
}

/// An assignment for tests.
func assignment(_ taskID: String, type: String, payload: [UInt8] = [], attempt: UInt32 = 1, timeoutMs: UInt32 = 0)
    -> TaskAssignment
{
    TaskAssignment(taskID: taskID, attempt: attempt, type: type, payload: payload, timeoutMs: timeoutMs, leaseMs: 5000)
}

struct SomeHandlerError: Error, CustomStringConvertible {
    var description: String { "disk on fire" }
}
