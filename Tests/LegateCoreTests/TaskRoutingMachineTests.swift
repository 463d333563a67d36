import LegateWire
import Testing

@testable import LegateCore

/// How the delegate machine routes task pushes and the answers to task calls.
@Suite struct TaskRoutingMachineTests {
    let t0 = ContinuousClock.now

    func registered() -> DelegateSessionMachine {
        DelegateSessionMachine.registeredForTesting(now: self.t0, heartbeatIntervalMs: 10000)
    }

    func acknowledgement(kind: PushKind, streamID: UInt32) -> Frame {
        var ack = PushAck()
        ack.kind = UInt32(kind.rawValue)
        return Frame(type: .pushAck, method: kind.rawValue, streamID: streamID, payload: ack.protoBytes())
    }

    @Test func taskAssignIsHandedUpWithItsAcknowledgement() {
        var machine = self.registered()
        let assignment = TaskAssignment(taskID: "tsk_1", attempt: 1, type: "echo", payload: [1], timeoutMs: 100)
        let push = Frame(
            type: .push, method: PushKind.taskAssign.rawValue, streamID: 2, payload: assignment.protoBytes())
        #expect(machine.frameReceived(push, now: self.t0)
            == .taskPush(push, acknowledgement: self.acknowledgement(kind: .taskAssign, streamID: 2)))
        #expect(machine.isRegistered)
    }

    @Test func taskCancelIsHandedUpWithItsAcknowledgement() {
        var machine = self.registered()
        let cancel = TaskCancel(taskID: "tsk_1", attempt: 2, reason: "operator")
        let push = Frame(type: .push, method: PushKind.taskCancel.rawValue, streamID: 4, payload: cancel.protoBytes())
        #expect(machine.frameReceived(push, now: self.t0)
            == .taskPush(push, acknowledgement: self.acknowledgement(kind: .taskCancel, streamID: 4)))
    }

    @Test func callStreamIDsExistOnlyOnceRegisteredAndAreOddAndIncreasing() {
        var unregistered = DelegateSessionMachine()
        #expect(unregistered.allocateCallStreamID() == nil)
        var machine = self.registered()
        #expect(machine.allocateCallStreamID() == 3)
        #expect(machine.allocateCallStreamID() == 5)
        machine.connectionClosed()
        #expect(machine.allocateCallStreamID() == nil)
    }

    @Test func answersToTaskCallsAreHandedUpAndDoNotEndTheSession() {
        var machine = self.registered()
        guard let streamID = machine.allocateCallStreamID() else {
            Issue.record("registered machine must allocate")
            return
        }
        let ok = Frame(type: .response, method: CallMethod.taskResult.rawValue, streamID: streamID,
                       payload: CallAck().protoBytes())
        #expect(machine.frameReceived(ok, now: self.t0) == .callAnswered(ok))
        var status = Status()
        status.code = .aborted
        status.message = "attempt 1 is stale"
        let refused = Frame(type: .error, method: CallMethod.taskResult.rawValue, streamID: streamID,
                            payload: status.protoBytes())
        #expect(machine.frameReceived(refused, now: self.t0) == .callAnswered(refused))
        #expect(machine.isRegistered)
    }

    @Test func aTaskCallAnswerDoesNotSatisfyTheHeartbeatInFlight() {
        var machine = self.registered()
        #expect(machine.heartbeatDue(now: self.t0) == .sendHeartbeat(streamID: 3, sequence: 1))
        #expect(machine.allocateCallStreamID() == 5)
        let callAnswer = Frame(type: .response, method: CallMethod.taskUpdate.rawValue, streamID: 5)
        #expect(machine.frameReceived(callAnswer, now: self.t0) == .callAnswered(callAnswer))
        var ack = HeartbeatAck()
        ack.sequence = 1
        let beat = Frame(type: .response, method: 2, streamID: 3, payload: ack.protoBytes())
        #expect(machine.frameReceived(beat, now: self.t0 + .milliseconds(4))
            == .heartbeatAcknowledged(ack, roundTrip: .milliseconds(4)))
    }

    @Test func aPushAckFromTheManagerIsAProtocolError() {
        var machine = self.registered()
        let action = machine.frameReceived(Frame(type: .pushAck, method: 4, streamID: 6), now: self.t0)
        guard case .retry(let code, _) = action else {
            Issue.record("expected retry, got \(action)")
            return
        }
        #expect(code == .failedPrecondition)
    }
}
