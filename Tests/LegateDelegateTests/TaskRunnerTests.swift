import LegateWire
import Testing

@testable import LegateDelegate

/// The runner against a fake reporter and hand-fired timers: admission, outcomes, timeout, cancel, abandon.
@Suite struct TaskRunnerTests {
    func runner(capacity: Int = 4, timers: ManualTimers = ManualTimers(), _ handlers: [any TaskHandler]) -> TaskRunner {
        TaskRunner(handlers: TaskHandlerRegistry(handlers), capacity: capacity, timers: timers)
    }

    @Test func echoSendsStartedThenSucceededWithThePayload() async {
        let runner = self.runner([EchoTaskHandler()])
        let reporter = RecordingReporter()
        #expect(runner.assign(assignment("t1", type: "echo", payload: [1, 2, 3]), reporter: reporter) == .started)
        let result = await reporter.result(of: "t1")
        #expect(result == TaskResult(taskID: "t1", attempt: 1, outcome: .succeeded, output: [1, 2, 3]))
        #expect(reporter.reports.all.first == .update(TaskUpdate(taskID: "t1", attempt: 1, started: true)))
        #expect(reporter.reports.all.count == 2)
    }

    @Test func unknownTypeIsRefusedWithAFailedResultNamingTheSupportedTypes() {
        let runner = self.runner([EchoTaskHandler(), ShellTaskHandler()])
        let reporter = RecordingReporter()
        let reason = "task type nope is not supported by this delegate (supports: echo, shell)"
        #expect(runner.assign(assignment("t1", type: "nope"), reporter: reporter) == .refused(reason: reason))
        #expect(reporter.results == [TaskResult(taskID: "t1", attempt: 1, outcome: .failed, error: reason)])
        #expect(reporter.updates.isEmpty)
        #expect(runner.runningCount == 0)
    }

    @Test func capacityIsEnforcedAndFreedWhenAnAttemptEnds() async {
        let sleeper = SleepingHandler()
        let runner = self.runner(capacity: 2, [sleeper])
        let reporter = RecordingReporter()
        #expect(runner.assign(assignment("a", type: "sleep"), reporter: reporter) == .started)
        #expect(runner.assign(assignment("b", type: "sleep"), reporter: reporter) == .started)
        #expect(runner.runningCount == 2)
        #expect(runner.freeCapacity == 0)
        guard case .refused(let reason) = runner.assign(assignment("c", type: "sleep"), reporter: reporter) else {
            Issue.record("a third attempt must be refused at capacity 2")
            return
        }
        #expect(reason.hasPrefix("delegate at capacity 2"))
        #expect(reporter.results.map(\.outcome) == [.failed])

        #expect(runner.cancel(taskID: "a", attempt: 1, reason: "make room"))
        #expect(await reporter.result(of: "a")?.outcome == .cancelled)
        #expect(runner.runningCount == 1)
        #expect(runner.assign(assignment("d", type: "sleep"), reporter: reporter) == .started)
        runner.abandonAll()
    }

    @Test func theSameAttemptPushedTwiceRunsOnce() {
        let runner = self.runner([SleepingHandler()])
        let reporter = RecordingReporter()
        #expect(runner.assign(assignment("a", type: "sleep"), reporter: reporter) == .started)
        #expect(runner.assign(assignment("a", type: "sleep"), reporter: reporter) == .duplicate)
        #expect(runner.assign(assignment("a", type: "sleep", attempt: 2), reporter: reporter) == .started)
        #expect(runner.runningCount == 2)
        runner.abandonAll()
    }

    @Test func theAssignmentTimeoutStopsTheHandlerAndReportsTimedOut() async {
        let timers = ManualTimers()
        let sleeper = SleepingHandler()
        let runner = self.runner(timers: timers, [sleeper])
        let reporter = RecordingReporter()
        runner.assign(assignment("a", type: "sleep", timeoutMs: 250), reporter: reporter)
        #expect(timers.pending.map(\.delay) == [.milliseconds(250)])
        #expect(await sleeper.started.wait { $0 == ["a"] })
        timers.fireAll()  // the 250 ms are up
        let result = await reporter.result(of: "a")
        #expect(result?.outcome == .timedOut)
        #expect(result?.error == "timed out after 250 ms (the task's timeout); the work was stopped")
        #expect(runner.runningCount == 0)
    }

    @Test func aFinishedAttemptCancelsItsTimeout() async {
        let timers = ManualTimers()
        let runner = self.runner(timers: timers, [EchoTaskHandler()])
        let reporter = RecordingReporter()
        runner.assign(assignment("a", type: "echo", timeoutMs: 1000), reporter: reporter)
        #expect(await reporter.result(of: "a")?.outcome == .succeeded)
        #expect(timers.pending.isEmpty)
    }

    @Test func cancelReportsCancelledWithTheReasonAndIgnoresOtherAttempts() async {
        let sleeper = SleepingHandler()
        let runner = self.runner([sleeper])
        let reporter = RecordingReporter()
        runner.assign(assignment("a", type: "sleep", attempt: 2), reporter: reporter)
        #expect(!runner.cancel(taskID: "a", attempt: 1, reason: "stale"))
        #expect(!runner.cancel(taskID: "zzz", attempt: 2, reason: "unknown"))
        #expect(runner.cancel(taskID: "a", attempt: 2, reason: "user asked"))
        let result = await reporter.result(of: "a")
        #expect(result == TaskResult(
            taskID: "a", attempt: 2, outcome: .cancelled, error: "cancelled by the manager: user asked"))
    }

    static let endings: [(String, @Sendable (TaskExecution, TaskContext) async throws -> TaskOutput, TaskResult)] = [
        ("ok", { _, _ in TaskOutput(output: [9], exitCode: 0) },
         TaskResult(taskID: "t", attempt: 1, outcome: .succeeded, output: [9])),
        ("failed", { _, _ in throw TaskError.failed(message: "exit 7", exitCode: 7, output: [1]) },
         TaskResult(taskID: "t", attempt: 1, outcome: .failed, output: [1], error: "exit 7", exitCode: 7)),
        ("timedOut", { _, _ in throw TaskError.timedOut(message: "too slow", output: [2]) },
         TaskResult(taskID: "t", attempt: 1, outcome: .timedOut, output: [2], error: "too slow")),
        ("invalid", { _, _ in throw TaskError.invalidPayload(type: "x", reason: "bad") },
         TaskResult(taskID: "t", attempt: 1, outcome: .failed, error: "the x task payload is invalid: bad")),
        ("other", { _, _ in throw SomeHandlerError() },
         TaskResult(taskID: "t", attempt: 1, outcome: .failed, error: "the other handler failed: disk on fire")),
        ("cancelled", { _, _ in throw CancellationError() },
         TaskResult(taskID: "t", attempt: 1, outcome: .cancelled, error: "the cancelled handler stopped: cancelled")),
    ]

    @Test(arguments: 0..<Self.endings.count)
    func howAHandlerEndsMapsToAnOutcome(index: Int) async {
        let (type, end, expected) = Self.endings[index]
        let runner = self.runner([ScriptedHandler(type: type, end: end)])
        let reporter = RecordingReporter()
        runner.assign(assignment("t", type: type), reporter: reporter)
        #expect(await reporter.result(of: "t") == expected)
    }

    @Test func abandonAllFreesEverySlotAndReportsNothingMore() async {
        let sleeper = SleepingHandler()
        let runner = self.runner(capacity: 2, [sleeper])
        let reporter = RecordingReporter()
        runner.assign(assignment("a", type: "sleep"), reporter: reporter)
        runner.assign(assignment("b", type: "sleep"), reporter: reporter)
        #expect(await sleeper.started.wait { $0.count == 2 })
        let abandoned = runner.abandonAll().map(\.taskID).sorted()
        #expect(abandoned == ["a", "b"])
        #expect(runner.runningCount == 0)
        #expect(runner.freeCapacity == 2)
        // A later attempt runs and reports; the abandoned ones never do.
        runner.assign(assignment("c", type: "sleep"), reporter: reporter)
        #expect(runner.cancel(taskID: "c", attempt: 1, reason: ""))
        #expect(await reporter.result(of: "c")?.error == "cancelled by the manager")
        #expect(reporter.results.map(\.taskID) == ["c"])
    }

    @Test func abandonOneAttempt() {
        let runner = self.runner([SleepingHandler()])
        let reporter = RecordingReporter()
        runner.assign(assignment("a", type: "sleep"), reporter: reporter)
        #expect(!runner.abandon(taskID: "a", attempt: 2))
        #expect(runner.abandon(taskID: "a", attempt: 1))
        #expect(runner.runningCount == 0)
    }

    @Test func handlersReportProgressThroughTheContext() async {
        let timers = ManualTimers()
        let handler = ScriptedHandler(type: "work") { _, context in
            context.reportProgress(40, message: "copying")
            context.appendLog("line 1\n")
            return TaskOutput()
        }
        let runner = self.runner(timers: timers, [handler])
        let reporter = RecordingReporter()
        runner.assign(assignment("w", type: "work"), reporter: reporter)
        _ = await reporter.result(of: "w")
        #expect(reporter.reports.all == [
            .update(TaskUpdate(taskID: "w", attempt: 1, started: true)),
            .update(TaskUpdate(
                taskID: "w", attempt: 1, progressPercent: 40, message: "copying", logChunk: Array("line 1\n".utf8))),
            .result(TaskResult(taskID: "w", attempt: 1, outcome: .succeeded)),
        ])
    }

    @Test func registryAnnouncesSortedTypesAndKnowsTheBuiltIns() {
        let registry = TaskHandlerRegistry([ShellTaskHandler(), EchoTaskHandler()])
        #expect(registry.types == ["echo", "shell"])
        #expect(TaskHandlerRegistry.builtIn(named: "echo")?.type == "echo")
        #expect(TaskHandlerRegistry.builtIn(named: "shell")?.type == "shell")
        #expect(TaskHandlerRegistry.builtIn(named: "rm") == nil)
        registry.register(SleepingHandler(type: "echo"))
        #expect(registry.handler(for: "echo") is SleepingHandler)
    }
}
