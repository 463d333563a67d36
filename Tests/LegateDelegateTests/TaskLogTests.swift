import LegateWire
import Testing

@testable import LegateDelegate

/// Log coalescing and bounds of `TaskContext`, with timers fired by hand (no clock involved).
@Suite struct TaskLogTests {
    let execution = TaskExecution(taskID: "t", attempt: 3, type: "work", payload: [])

    func context(_ limits: TaskLogLimits = .defaults) -> (TaskContext, RecordingReporter, ManualTimers) {
        let reporter = RecordingReporter()
        let timers = ManualTimers()
        let context = TaskContext(execution: self.execution, reporter: reporter, timers: timers, limits: limits)
        return (context, reporter, timers)
    }

    @Test func smallWritesWaitForTheIntervalAndGoAsOneUpdate() {
        let (context, reporter, timers) = self.context()
        context.appendLog("a")
        context.appendLog("bc")
        #expect(reporter.updates.isEmpty)
        #expect(timers.pending.map(\.delay) == [.milliseconds(100)])  // one timer, not one per write
        timers.fireAll()
        #expect(reporter.updates.map(\.logChunk) == [Array("abc".utf8)])
        #expect(reporter.updates.first?.attempt == 3)
        timers.fireAll()  // nothing pending: nothing sent
        #expect(reporter.updates.count == 1)
    }

    @Test func sixteenKibGoAtOnceWithoutWaiting() {
        let (context, reporter, timers) = self.context()
        context.appendLog([UInt8](repeating: 1, count: (16 << 10) + 5))
        #expect(reporter.updates.map(\.logChunk.count) == [16 << 10])
        timers.fireAll()
        #expect(reporter.updates.map(\.logChunk.count) == [16 << 10, 5])
    }

    @Test func theLogIsBoundedAtOneMibThenOneTruncationChunk() {
        let (context, reporter, timers) = self.context()
        for _ in 0..<32 { context.appendLog([UInt8](repeating: 7, count: 64 << 10)) }  // 2 MiB offered
        timers.fireAll()
        context.appendLog("after the bound")
        timers.fireAll()
        context.finish(.success(TaskOutput()))
        let chunks = reporter.updates.map(\.logChunk)
        #expect(chunks.count == 65)  // 64 full chunks of 16 KiB, then the marker
        #expect(chunks.dropLast().allSatisfy { $0.count == 16 << 10 })
        #expect(chunks.last == TaskContext.truncationMarker)
        #expect(chunks.reduce(0) { $0 + $1.count } == (1 << 20) + TaskContext.truncationMarker.count)
        #expect(reporter.results.count == 1)
    }

    @Test func aWriteThatCrossesTheBoundKeepsItsHead() {
        let (context, reporter, timers) = self.context(
            TaskLogLimits(flushInterval: .milliseconds(100), chunkBytes: 1 << 10, maxLogBytes: 10))
        context.appendLog("0123456789abcdef")
        timers.fireAll()
        #expect(reporter.updates.map(\.logChunk) == [Array("0123456789".utf8) + TaskContext.truncationMarker])
    }

    @Test func progressRidesOnTheNextUpdateAndStaysInLaterOnes() {
        let (context, reporter, timers) = self.context()
        context.reportProgress(150, message: "almost")  // clamped to 100
        timers.fireAll()
        context.appendLog("x")
        timers.fireAll()
        #expect(reporter.updates == [
            TaskUpdate(taskID: "t", attempt: 3, progressPercent: 100, message: "almost"),
            TaskUpdate(taskID: "t", attempt: 3, progressPercent: 100, logChunk: [UInt8]("x".utf8)),
        ])
    }

    @Test func finishFlushesPendingLogBeforeTheResultAndStopsItsTimer() {
        let (context, reporter, timers) = self.context()
        context.appendLog("tail")
        context.finish(.success(TaskOutput(output: [1])))
        #expect(reporter.reports.all == [
            .update(TaskUpdate(taskID: "t", attempt: 3, logChunk: [UInt8]("tail".utf8))),
            .result(TaskResult(taskID: "t", attempt: 3, outcome: .succeeded, output: [1])),
        ])
        #expect(timers.pending.isEmpty)
        context.appendLog("late")
        context.finish(.success(TaskOutput()))
        #expect(reporter.reports.all.count == 2)  // closed: nothing more
    }

    @Test func anAbandonedAttemptSendsNothingMore() {
        let (context, reporter, timers) = self.context()
        context.appendLog("pending")
        context.abandon()
        timers.fireAll()
        context.finish(.success(TaskOutput()))
        #expect(reporter.reports.all.isEmpty)
        #expect(!context.markEnding(.cancelled("late")))
    }

    @Test func theRunnersReasonWinsOverHowTheHandlerEnded() {
        let (context, reporter, _) = self.context()
        #expect(context.markEnding(.timedOut(.seconds(2))))
        #expect(context.markEnding(.cancelled("second reason is ignored")))
        context.finish(.success(TaskOutput(output: [5])))
        #expect(reporter.results == [TaskResult(
            taskID: "t", attempt: 3, outcome: .timedOut, output: [5],
            error: "timed out after 2000 ms (the task's timeout); the work was stopped")])
    }
}
