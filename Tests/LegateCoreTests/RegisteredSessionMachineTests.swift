import LegateWire
import Testing

@testable import LegateCore

/// The registered state of the manager-side machine: identity, pushes and their acknowledgements, heartbeat
/// refusals, stream ids and draining. Time moved by arithmetic.
@Suite struct RegisteredSessionMachineTests {
    let t0 = ContinuousClock.now
    let identity = DelegateIdentity(delegateID: "dlg_1", accountID: "acc", tokenID: "tok_a", instanceID: "ins")

    func registered(pending: Bool = false, capacity: UInt32 = 4) -> ServerConnectionMachine {
        var machine = ServerConnectionMachine(configuration: .defaults, now: self.t0)
        var hello = Hello()
        hello.protocolVersion = 1
        _ = machine.frameReceived(Frame(type: .hello, payload: hello.protoBytes()), now: self.t0)
        var request = RegisterRequest()
        request.capacity = capacity
        _ = machine.frameReceived(
            Frame(type: .request, method: CallMethod.register.rawValue, streamID: 1, payload: request.protoBytes()),
            now: self.t0)
        var response = RegisterResponse()
        response.delegateID = "dlg_1"
        response.state = pending ? .pending : .active
        _ = machine.registrationAccepted(streamID: 1, response: response, identity: self.identity, now: self.t0)
        return machine
    }

    func call(_ method: CallMethod, streamID: UInt32, payload: [UInt8] = []) -> Frame {
        Frame(type: .request, method: method.rawValue, streamID: streamID, payload: payload)
    }

    func ack(_ kind: UInt16, streamID: UInt32) -> Frame {
        Frame(type: .pushAck, method: kind, streamID: streamID)
    }

    func code(of action: ServerConnectionMachine.Action) -> StatusCode? {
        switch action {
        case .refuseCall(let frame): return (try? Status(protoBytes: frame.payload))?.code
        case .closeWithError(let code, _): return code
        default: return nil
        }
    }

    @Test func theRegisteredStateHoldsIdentityApprovalAndCapacity() {
        var machine = self.registered(pending: true, capacity: 0)
        #expect(machine.registeredIdentity == self.identity)
        #expect(machine.isPending && machine.registered?.capacity == 1, "capacity is at least 1")
        machine.approvalDecided(approved: true)
        #expect(!machine.isPending)
    }

    @Test func acknowledgementsAreRoutedByWhatTheStreamCarried() {
        var machine = self.registered()
        let assign = machine.allocatePush(.taskAssign(taskID: "tsk_1", attempt: 2), now: self.t0)
        let cancel = machine.allocatePush(.taskCancel(taskID: "tsk_0", attempt: 1), now: self.t0)
        let rotate = machine.allocatePush(.tokenRotated(oldTokenID: "tok_a", newTokenID: "tok_b"), now: self.t0)
        #expect(assign == 2 && cancel == 4 && rotate == 6)
        #expect(machine.isRotationPending)
        #expect(machine.frameReceived(self.ack(PushKind.taskAssign.rawValue, streamID: 2), now: self.t0)
            == .taskAssignAcknowledged(taskID: "tsk_1", attempt: 2))
        #expect(machine.frameReceived(self.ack(PushKind.taskCancel.rawValue, streamID: 4), now: self.t0)
            == .taskCancelAcknowledged(taskID: "tsk_0", attempt: 1))
        #expect(machine.frameReceived(self.ack(PushKind.tokenRotated.rawValue, streamID: 6), now: self.t0)
            == .tokenRotationAcknowledged(streamID: 6, oldTokenID: "tok_a", newTokenID: "tok_b"))
        #expect(machine.registeredIdentity?.tokenID == "tok_b", "from the ACK on, JWTs must name the new token")
        #expect(!machine.isRotationPending)
        // A second ACK of the same stream carries nothing any more.
        #expect(machine.frameReceived(self.ack(PushKind.taskAssign.rawValue, streamID: 2), now: self.t0)
            == .pushAcknowledged(kind: PushKind.taskAssign.rawValue, streamID: 2))
    }

    @Test func anAcknowledgementOfTheWrongKindIsFatal() {
        var machine = self.registered()
        let stream = machine.allocatePush(.taskAssign(taskID: "tsk_1", attempt: 1), now: self.t0) ?? 0
        let action = machine.frameReceived(self.ack(PushKind.selfDestruct.rawValue, streamID: stream), now: self.t0)
        #expect(self.code(of: action) == .invalidArgument && machine.isClosed)
    }

    @Test func selfDestructAcknowledgedEndsWithItsStatusAndNothingIsPushedAfterIt() {
        var machine = self.registered()
        let stream = machine.allocatePush(.selfDestruct(reason: "revoked", code: .permissionDenied), now: self.t0)
        #expect(stream == 2 && machine.isSelfDestructing)
        #expect(machine.allocatePush(.taskAssign(taskID: "t", attempt: 1), now: self.t0) == nil)
        // Calls made meanwhile are answered with the self-destruct status, not left hanging.
        let beat = machine.frameReceived(self.call(.heartbeat, streamID: 3), now: self.t0)
        #expect(self.code(of: beat) == .permissionDenied && !machine.isClosed)
        #expect(machine.frameReceived(self.ack(PushKind.selfDestruct.rawValue, streamID: 2), now: self.t0)
            == .selfDestructAcknowledged(streamID: 2, code: .permissionDenied, message: "revoked"))
        #expect(machine.isClosed && machine.delegateIdentity == self.identity, "who left is kept for the detach")
    }

    @Test func selfDestructUnacknowledgedClosesWithItsStatusAtTheDeadline() {
        var machine = self.registered()
        _ = machine.allocatePush(.selfDestruct(reason: "revoked", code: .permissionDenied), now: self.t0)
        #expect(machine.tick(now: self.t0 + .milliseconds(1_999)) == .none)
        #expect(machine.tick(now: self.t0 + .seconds(2)) == .closeWithError(code: .permissionDenied, message: "revoked"))
    }

    @Test func heartbeatRefusalsAreAnsweredOnTheCallUntilTheBound() {
        var machine = self.registered()
        #expect(self.code(of: machine.heartbeatRefused(streamID: 3, code: .unauthenticated, message: "expired"))
            == .unauthenticated)
        #expect(self.code(of: machine.heartbeatRefused(streamID: 5, code: .unauthenticated, message: "expired"))
            == .unauthenticated)
        machine.heartbeatVerified(now: self.t0, at: 1_000)  // a re-minted JWT passed: the count starts again
        #expect(machine.takeHeartbeatMark()?.at == 1_000 && machine.takeHeartbeatMark() == nil)
        _ = machine.heartbeatRefused(streamID: 9, code: .unauthenticated, message: "expired")
        _ = machine.heartbeatRefused(streamID: 11, code: .unauthenticated, message: "expired")
        #expect(!machine.isClosed)
        guard case .closeWithError(let code, let message) =
            machine.heartbeatRefused(streamID: 13, code: .unauthenticated, message: "expired")
        else {
            Issue.record("the third refusal in a row must close")
            return
        }
        #expect(code == .unauthenticated && message.contains("3 heartbeats refused in a row"))
    }

    @Test func malformedCallPayloadsAreRefusedOnTheCallAndTheConnectionStays() {
        var machine = self.registered()
        for (method, stream) in [(CallMethod.taskUpdate, UInt32(3)), (.taskResult, 5), (.startupScriptReport, 7)] {
            let action = machine.frameReceived(self.call(method, streamID: stream, payload: [0xFF, 0xFF]), now: self.t0)
            guard case .refuseCall(let frame) = action else {
                Issue.record("\(method): expected a refused call, got \(action)")
                continue
            }
            #expect(frame.streamID == stream && self.code(of: action) == .invalidArgument)
        }
        #expect(!machine.isClosed)
        var result = TaskResult()
        result.taskID = "tsk_1"
        #expect(machine.frameReceived(self.call(.taskResult, streamID: 9, payload: result.protoBytes()), now: self.t0)
            == .taskResult(streamID: 9, result: result))
    }

    @Test(arguments: [[UInt32(2)], [0], [3, 3], [5, 3], [7, 5]])
    func callStreamsMustBeOddAndStrictlyIncreasing(_ streams: [UInt32]) {
        var machine = self.registered()
        var last = ServerConnectionMachine.Action.none
        for stream in streams {
            last = machine.frameReceived(self.call(.heartbeat, streamID: stream), now: self.t0)
        }
        guard case .closeWithError(let code, let message) = last else {
            Issue.record("streams \(streams): expected a fatal error, got \(last)")
            return
        }
        #expect(code == .invalidArgument && message.contains("odd, strictly increasing"))
    }

    @Test func pushAcknowledgementsUseEvenStreams() {
        var machine = self.registered()
        #expect(self.code(of: machine.frameReceived(self.ack(1, streamID: 3), now: self.t0)) == .invalidArgument)
        var other = self.registered()
        #expect(self.code(of: other.frameReceived(self.ack(1, streamID: 0), now: self.t0)) == .invalidArgument)
    }

    @Test func drainingNamesTheLastCallKeepsTaskReportsAndRefusesTheRest() throws {
        var machine = self.registered()
        _ = machine.frameReceived(self.call(.heartbeat, streamID: 7), now: self.t0)
        let assign = machine.allocatePush(.taskAssign(taskID: "tsk_1", attempt: 1), now: self.t0) ?? 0
        guard case .send(let frame) = machine.startDraining(
            reason: "restart", reconnectAfter: .seconds(1), now: self.t0, drainTimeout: .seconds(5))
        else {
            Issue.record("no GOAWAY")
            return
        }
        #expect(try GoAway(protoBytes: frame.payload).lastStreamID == 7)
        #expect(self.code(of: machine.frameReceived(self.call(.heartbeat, streamID: 9), now: self.t0)) == .unavailable)
        var update = TaskUpdate()
        update.taskID = "tsk_1"
        #expect(machine.frameReceived(self.call(.taskUpdate, streamID: 11, payload: update.protoBytes()), now: self.t0)
            == .taskUpdate(streamID: 11, update: update))
        #expect(machine.frameReceived(self.ack(PushKind.taskAssign.rawValue, streamID: assign), now: self.t0)
            == .taskAssignAcknowledged(taskID: "tsk_1", attempt: 1))
        #expect(machine.tick(now: self.t0 + .seconds(60)) == .close, "the drain deadline, not the grace, ends it")
    }

    @Test func aDelegateThatNeverAcknowledgesIsClosedBeforeItsPushesGrowWithoutBound() {
        var configuration = ServerConnectionMachine.Configuration.defaults
        configuration.maxOutstandingPushes = 2
        var machine = ServerConnectionMachine(configuration: configuration, now: self.t0)
        var hello = Hello()
        hello.protocolVersion = 1
        _ = machine.frameReceived(Frame(type: .hello, payload: hello.protoBytes()), now: self.t0)
        _ = machine.frameReceived(self.call(.register, streamID: 1), now: self.t0)
        _ = machine.registrationAccepted(streamID: 1, response: RegisterResponse(), identity: self.identity, now: self.t0)
        #expect(machine.allocatePush(.taskCancel(taskID: "a", attempt: 1), now: self.t0) != nil)
        #expect(machine.allocatePush(.taskCancel(taskID: "b", attempt: 1), now: self.t0) != nil)
        #expect(machine.allocatePush(.taskCancel(taskID: "c", attempt: 1), now: self.t0) == nil, "nothing written")
        #expect(self.code(of: machine.tick(now: self.t0)) == .resourceExhausted)
    }
}
