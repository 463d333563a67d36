import LegateWire
import Testing

@testable import LegateCore

/// One sentence per transition of the manager-side connection machine, time moved by arithmetic.
@Suite struct ServerConnectionMachineTests {
    let t0 = ContinuousClock.now
    let configuration = ServerConnectionMachine.Configuration.defaults

    func hello(version: UInt32 = ProtocolVersion.current) -> Frame {
        var hello = Hello()
        hello.protocolVersion = version
        return Frame(type: .hello, payload: hello.protoBytes())
    }

    func register(streamID: UInt32 = 1) -> Frame {
        var request = RegisterRequest()
        request.accountID = "acc"
        request.instanceID = "ins"
        request.delegateName = "d"
        request.jwt = "x.y.z"
        return Frame(type: .request, method: CallMethod.register.rawValue, streamID: streamID,
                     payload: request.protoBytes())
    }

    func registeredMachine() -> ServerConnectionMachine {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        _ = machine.frameReceived(self.hello(), now: self.t0)
        _ = machine.frameReceived(self.register(), now: self.t0)
        var response = RegisterResponse()
        response.delegateID = "dlg_1"
        _ = machine.registrationAccepted(streamID: 1, response: response, now: self.t0)
        return machine
    }

    @Test func helloIsAnsweredWithLimitsAndInterval() throws {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        guard case .completeHello(let frame) = machine.frameReceived(self.hello(), now: self.t0) else {
            Issue.record("HELLO was not answered")
            return
        }
        let ack = try HelloAck(protoBytes: frame.payload)
        #expect(frame.type == .helloAck)
        #expect(ack.heartbeatIntervalMs == 10_000)
        #expect(ack.heartbeatGraceMs == 30_000)
        #expect(ack.maxFrameBytes == UInt32(FrameLimits.defaultMaxFrameBytes))
    }

    @Test func frameBeforeHelloClosesWithFailedPrecondition() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        guard case .closeWithError(let code, _) = machine.frameReceived(self.register(), now: self.t0) else {
            Issue.record("expected a close")
            return
        }
        #expect(code == .failedPrecondition)
        #expect(machine.isClosed)
        #expect(machine.frameReceived(self.hello(), now: self.t0) == .none)
    }

    @Test func unsupportedVersionIsRefused() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        guard case .closeWithError(let code, let message) = machine.frameReceived(self.hello(version: 2), now: self.t0)
        else {
            Issue.record("expected a close")
            return
        }
        #expect(code == .failedPrecondition)
        #expect(message.contains("version 2"))
    }

    @Test func malformedHelloIsInvalidArgument() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        let frame = Frame(type: .hello, payload: [0x08])  // truncated varint
        guard case .closeWithError(let code, _) = machine.frameReceived(frame, now: self.t0) else {
            Issue.record("expected a close")
            return
        }
        #expect(code == .invalidArgument)
    }

    @Test func registrationIsHandedUpThenAccepted() throws {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        _ = machine.frameReceived(self.hello(), now: self.t0)
        guard case .register(let streamID, let request) = machine.frameReceived(self.register(streamID: 7), now: self.t0)
        else {
            Issue.record("registration not handed up")
            return
        }
        #expect(streamID == 7)
        #expect(request.accountID == "acc")
        var response = RegisterResponse()
        response.delegateID = "dlg_1"
        guard case .acceptRegistration(let frame, let limit) =
            machine.registrationAccepted(streamID: 7, response: response, now: self.t0)
        else {
            Issue.record("registration not accepted")
            return
        }
        #expect(frame.type == .response && frame.streamID == 7)
        #expect(try RegisterResponse(protoBytes: frame.payload).delegateID == "dlg_1")
        #expect(limit == FrameLimits.defaultMaxFrameBytes)
        #expect(machine.registeredDelegateID == "dlg_1")
    }

    @Test func secondFrameDuringRegistrationCloses() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        _ = machine.frameReceived(self.hello(), now: self.t0)
        _ = machine.frameReceived(self.register(), now: self.t0)
        guard case .closeWithError(let code, _) = machine.frameReceived(self.register(streamID: 3), now: self.t0) else {
            Issue.record("expected a close")
            return
        }
        #expect(code == .failedPrecondition)
    }

    @Test func refusedRegistrationClosesWithTheGivenStatus() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        _ = machine.frameReceived(self.hello(), now: self.t0)
        _ = machine.frameReceived(self.register(), now: self.t0)
        #expect(
            machine.registrationRefused(code: .unauthenticated, message: "bad JWT")
                == .closeWithError(code: .unauthenticated, message: "bad JWT"))
        #expect(machine.registrationRefused(code: .unauthenticated, message: "again") == .none)
    }

    @Test func heartbeatIsHandedUpOnlyWhenRegistered() {
        var machine = self.registeredMachine()
        var heartbeat = Heartbeat()
        heartbeat.sequence = 9
        let frame = Frame(type: .request, method: CallMethod.heartbeat.rawValue, streamID: 3,
                          payload: heartbeat.protoBytes())
        let identity = DelegateIdentity(delegateID: "dlg_1", accountID: "", tokenID: "", instanceID: "")
        #expect(
            machine.frameReceived(frame, now: self.t0)
                == .heartbeat(streamID: 3, heartbeat: heartbeat, identity: identity, isPending: false))
        var fresh = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        _ = fresh.frameReceived(self.hello(), now: self.t0)
        guard case .closeWithError(let code, _) = fresh.frameReceived(frame, now: self.t0) else {
            Issue.record("heartbeat before registration must close")
            return
        }
        #expect(code == .failedPrecondition)
    }

    @Test func unknownMethodIsRefusedButConnectionStays() {
        var machine = self.registeredMachine()
        let frame = Frame(type: .request, method: 999, streamID: 5)
        guard case .refuseCall(let error) = machine.frameReceived(frame, now: self.t0) else {
            Issue.record("expected a refused call")
            return
        }
        #expect(error.type == .error && error.streamID == 5)
        #expect((try? Status(protoBytes: error.payload))?.code == .unimplemented)
        #expect(!machine.isClosed)
    }

    @Test func pingIsAnsweredInEveryOpenState() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        let ping = Frame(type: .ping, payload: [1, 2, 3])
        #expect(machine.frameReceived(ping, now: self.t0) == .send(Frame(type: .pong, payload: [1, 2, 3])))
        let oversize = Frame(type: .ping, payload: [UInt8](repeating: 0, count: 9))
        guard case .closeWithError(let code, _) = machine.frameReceived(oversize, now: self.t0) else {
            Issue.record("oversize PING must close")
            return
        }
        #expect(code == .invalidArgument)
    }

    @Test func helloDeadline() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        #expect(machine.tick(now: self.t0 + .seconds(4)) == .none)
        guard case .closeWithError(let code, _) = machine.tick(now: self.t0 + .seconds(5)) else {
            Issue.record("HELLO deadline not enforced")
            return
        }
        #expect(code == .deadlineExceeded)
    }

    @Test func registrationDeadline() {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        _ = machine.frameReceived(self.hello(), now: self.t0 + .seconds(1))
        #expect(machine.tick(now: self.t0 + .seconds(10)) == .none)
        guard case .closeWithError(let code, _) = machine.tick(now: self.t0 + .seconds(11)) else {
            Issue.record("registration deadline not enforced")
            return
        }
        #expect(code == .deadlineExceeded)
    }

    @Test func livenessGraceCountsFromTheLastVerifiedHeartbeat() {
        var machine = self.registeredMachine()
        machine.heartbeatVerified(now: self.t0 + .seconds(20))
        #expect(machine.tick(now: self.t0 + .seconds(49)) == .none)
        guard case .closeWithError(let code, let message) = machine.tick(now: self.t0 + .seconds(50)) else {
            Issue.record("grace not enforced")
            return
        }
        #expect(code == .deadlineExceeded)
        #expect(message.contains("heartbeat"))
    }

    @Test func drainingSendsGoAwayRefusesCallsAndClosesAtTheDeadline() throws {
        var machine = self.registeredMachine()
        guard case .send(let goAway) = machine.startDraining(
            reason: "restart", reconnectAfter: .seconds(2), now: self.t0, drainTimeout: .seconds(5))
        else {
            Issue.record("no GOAWAY")
            return
        }
        #expect(goAway.type == .goAway)
        #expect(try GoAway(protoBytes: goAway.payload).reconnectAfterMs == 2000)
        let call = Frame(type: .request, method: CallMethod.heartbeat.rawValue, streamID: 9)
        guard case .refuseCall(let refusal) = machine.frameReceived(call, now: self.t0) else {
            Issue.record("calls during drain must be refused")
            return
        }
        #expect((try? Status(protoBytes: refusal.payload))?.code == .unavailable)
        #expect(machine.tick(now: self.t0 + .seconds(4)) == .none)
        #expect(machine.tick(now: self.t0 + .seconds(5)) == .close)
    }

    @Test func connectionFailureClosesOnceAndIgnoresLaterFrames() {
        var machine = self.registeredMachine()
        #expect(machine.connectionFailed(code: .invalidArgument, message: "garbage")
            == .closeWithError(code: .invalidArgument, message: "garbage"))
        #expect(machine.isClosed)
        #expect(machine.connectionFailed(code: .invalidArgument, message: "again") == .none)
        let heartbeat = Frame(type: .request, method: CallMethod.heartbeat.rawValue, streamID: 3)
        #expect(machine.frameReceived(heartbeat, now: self.t0) == .none)
    }

    @Test func pushStreamIDsAreEvenAndIncreasing() {
        var machine = self.registeredMachine()
        #expect(machine.allocatePushStreamID() == 2)
        #expect(machine.allocatePushStreamID() == 4)
    }

    @Test func pushAcknowledgementIsReported() {
        var machine = self.registeredMachine()
        let ack = Frame(type: .pushAck, method: PushKind.selfDestruct.rawValue, streamID: 2)
        #expect(machine.frameReceived(ack, now: self.t0) == .pushAcknowledged(kind: 1, streamID: 2))
    }
}
