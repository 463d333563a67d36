import Foundation
import LegateTestSupport
import LegateWire
import Testing

/// The Leave call: the manager re-queues the leaving delegate's attempts at once (stored before the CallAck), sends
/// it no more work, and refuses its late reports of the lost attempt.
@Suite(.serialized) struct LeaveCallTests {
    @Test func leaveRequeuesTheHeldAttemptBeforeItIsAnswered() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let leaver = try #require(ScriptedDelegate(harness, instanceID: "leaver"))
        let task = try admin.submitTask(TaskProtocolTests.spec("echo"))
        let assignment = try #require(leaver.nextAssignment())
        #expect(leaver.start(assignment) == nil)

        var leave = Leave()
        leave.reason = "SIGTERM"
        #expect(leaver.report(.leave, leave) == nil)  // CallAck, the connection still open
        let queued = try admin.task(id: task.id)
        #expect(queued.state == .queued)
        #expect(
            harness.log.recorded.contains { $0.message == "delegate leaving" && $0.metadata["reason"] == "SIGTERM" })

        var late = TaskResult()
        late.taskID = assignment.taskID
        late.attempt = assignment.attempt
        late.outcome = .succeeded
        #expect(leaver.report(.taskResult, late)?.code == .aborted)

        // The leaver is still connected but takes no more work: attempt 2 can only go to the rescuer.
        let rescuer = try #require(ScriptedDelegate(harness, instanceID: "rescuer"))
        let second = try #require(rescuer.nextAssignment())
        #expect(second.taskID == task.id && second.attempt == assignment.attempt + 1)
    }
}
