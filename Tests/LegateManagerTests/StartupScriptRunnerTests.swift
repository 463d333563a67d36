import Foundation
import LegateDelegate
import Testing

/// The delegate's startup script runner: exit status, bounded output, timeout, background children.
@Suite struct StartupScriptRunnerTests {
    @Test func reportsExitStatusAndCombinedOutput() {
        let outcome = StartupScriptRunner.runBlocking("echo out; echo err >&2; exit 7")
        #expect(outcome.exitCode == 7 && outcome.error.isEmpty)
        #expect(String(decoding: outcome.output, as: UTF8.self) == "out\nerr\n")
    }

    @Test func outputIsBoundedToSixtyFourKiB() {
        let outcome = StartupScriptRunner.runBlocking("head -c 200000 /dev/zero | tr '\\\\0' x; echo; exit 0")
        #expect(outcome.exitCode == 0)
        #expect(outcome.output.count == StartupScriptRunner.maxOutputBytes)
    }

    @Test func aScriptPastItsTimeoutIsTerminated() {
        let outcome = StartupScriptRunner.runBlocking("echo begun; exec sleep 30", timeout: .milliseconds(300))
        #expect(outcome.exitCode == -1 && outcome.error.contains("timed out"))
        #expect(String(decoding: outcome.output, as: UTF8.self) == "begun\n")
        #expect(outcome.duration < .seconds(10))
    }

    @Test func aBackgroundDaemonDoesNotHoldTheReportBack() {
        let outcome = StartupScriptRunner.runBlocking("sleep 20 & echo started")
        #expect(outcome.exitCode == 0 && String(decoding: outcome.output, as: UTF8.self) == "started\n")
        #expect(outcome.duration < .seconds(10))
    }
}
