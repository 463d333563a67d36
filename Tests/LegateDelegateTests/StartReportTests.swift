import LegateWire
import Testing

@testable import LegateDelegate

/// The delayed `started` report: quick attempts send only their result, slow ones report the start once.
@Suite struct StartReportTests {
    let execution = TaskExecution(taskID: "t", attempt: 2, type: "work", payload: [])

    func context() -> (TaskContext, RecordingReporter, ManualTimers) {
        let reporter = RecordingReporter()
        let timers = ManualTimers()
        var limits = TaskLogLimits.defaults
        limits.startReportDelay = .milliseconds(20)
        let context = TaskContext(execution: self.execution, reporter: reporter, timers: timers, limits: limits)
        return (context, reporter, timers)
    }

    @Test func anAttemptThatEndsBeforeTheDelaySendsOnlyItsResult() {
        let (context, reporter, timers) = self.context()
        context.sendStarted()
        #expect(reporter.updates.isEmpty)
        #expect(timers.pending.map(\.delay) == [.milliseconds(20)])
        context.finish(.success(TaskOutput(output: [1])))
        timers.fireAll()  // the cancelled start timer sends nothing
        #expect(reporter.updates.isEmpty)
        #expect(reporter.results.map(\.outcome) == [.succeeded])
    }

    @Test func aSlowAttemptReportsTheStartOnceWhenTheDelayPasses() {
        let (context, reporter, timers) = self.context()
        context.sendStarted()
        timers.fireAll()
        #expect(reporter.updates.map(\.started) == [true])
        timers.fireAll()
        context.finish(.success(TaskOutput()))
        #expect(reporter.updates.count == 1)
    }

    @Test func anEarlierUpdateCarriesTheStartItself() {
        let (context, reporter, timers) = self.context()
        context.sendStarted()
        context.appendLog([UInt8](repeating: 1, count: 16 << 10))  // a full chunk goes at once
        #expect(reporter.updates.map(\.started) == [true])
        timers.fireAll()
        #expect(reporter.updates.map(\.started) == [true])  // not twice
    }

    @Test func anAbandonedAttemptNeverReportsItsStart() {
        let (context, reporter, timers) = self.context()
        context.sendStarted()
        context.abandon()
        timers.fireAll()
        #expect(reporter.updates.isEmpty && reporter.results.isEmpty)
    }
}
