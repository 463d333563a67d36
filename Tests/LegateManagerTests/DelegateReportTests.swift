import Foundation
import LegateCore
import LegateDelegate
import LegateManager
import LegateTestSupport
import LegateWire
import Testing

/// Reports a registered delegate sends besides heartbeats: startup-script results and task logs, good and bad.
@Suite(.serialized) struct DelegateReportTests {
    @Test func startupScriptReportsAreAuditedAndMalformedOnesRefused() throws {
        let harness = try ManagerHarness()
        let delegate = try #require(ScriptedDelegate(harness, instanceID: "scripted-startup"))
        let garbageStream = delegate.allocateStreamID()
        let garbage = Frame(
            type: .request, method: CallMethod.startupScriptReport.rawValue, streamID: garbageStream,
            payload: [0xFF, 0xFF])
        delegate.client.send(garbage)
        let refusal = try #require(delegate.client.frames.first { $0.streamID == garbageStream })
        #expect(refusal.type == .error)
        #expect((try? Status(protoBytes: refusal.payload))?.code == .invalidArgument)

        var report = StartupScriptReport()
        report.exitCode = 2
        report.output = Array("missing package\u{1B}[0m\n".utf8)
        report.durationMs = 40
        #expect(delegate.report(.startupScriptReport, report) == nil)  // CallAck: stored
        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 50)
        let row = try #require(audit.first { $0.action == "delegate.startup_script" })
        #expect(row.outcome == "failed" && row.target == delegate.delegateID)
        #expect(row.detail.contains("exit=2") && row.detail.contains("missing package.[0m."))  // control chars shown as .
    }

    @Test func taskLogsAreBoundedPerTaskWithAMarker() throws {
        let harness = try ManagerHarness { $0.tasks.maxLogBytesPerTask = 100 }
        let admin = try TaskProtocolTests.admin(harness)
        let delegate = try #require(ScriptedDelegate(harness, instanceID: "chatty"))
        let task = try admin.submitTask(TaskProtocolTests.spec())
        let assignment = try #require(delegate.nextAssignment())
        for index in 0..<3 {
            var update = TaskUpdate()
            update.taskID = assignment.taskID
            update.attempt = assignment.attempt
            update.logChunk = [UInt8](repeating: UInt8(ascii: "a") + UInt8(index), count: 60)
            #expect(delegate.report(.taskUpdate, update) == nil)  // accepted even when dropped: nothing to retry
        }
        #expect(delegate.finish(assignment) == nil)
        let logs = try admin.taskLogs(id: task.id)
        #expect(logs.truncated)
        let text = String(decoding: logs.chunks.flatMap(\.data), as: UTF8.self)
        #expect(text.hasPrefix(String(repeating: "a", count: 60) + String(repeating: "b", count: 40)))
        #expect(text.hasSuffix("[log truncated by the manager at 100 bytes]\n"))
        #expect(!text.contains("ccc"))  // the third chunk came after the bound
    }
}
