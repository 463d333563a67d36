import LegateWire
import Testing

@testable import LegateCore

/// The admin state of the manager-side connection machine, one sentence per transition.
@Suite struct AdminConnectionMachineTests {
    let t0 = ContinuousClock.now
    let configuration = ServerConnectionMachine.Configuration.defaults

    func helloed() -> ServerConnectionMachine {
        var machine = ServerConnectionMachine(configuration: self.configuration, now: self.t0)
        var hello = Hello()
        hello.protocolVersion = ProtocolVersion.current
        _ = machine.frameReceived(Frame(type: .hello, payload: hello.protoBytes()), now: self.t0)
        return machine
    }

    func authenticate(streamID: UInt32 = 1) -> (Frame, AdminAuthenticate) {
        var request = AdminAuthenticate()
        request.apiKey = "lak_x_y"
        return (Frame(type: .request, method: AdminMethod.authenticate.rawValue, streamID: streamID,
                      payload: request.protoBytes()), request)
    }

    let session = AdminSession(keyID: "k", accountID: "acc", permissions: [.delegateView], scope: .account)

    func adminMachine() -> ServerConnectionMachine {
        var machine = self.helloed()
        _ = machine.frameReceived(self.authenticate().0, now: self.t0)
        _ = machine.adminAuthenticated(streamID: 1, session: self.session, response: AdminAuthenticated(), now: self.t0)
        return machine
    }

    @Test func idleAdminConnectionIsClosedAfterTheTimeout() {
        var machine = self.adminMachine()
        let call = Frame(type: .request, method: AdminMethod.authenticate.rawValue + 1, streamID: 3)
        _ = machine.frameReceived(call, now: self.t0 + .seconds(100))
        #expect(machine.tick(now: self.t0 + .seconds(399)) == .none)
        guard case .closeWithError(let code, let message) = machine.tick(now: self.t0 + .seconds(400)) else {
            Issue.record("idle admin connection not closed")
            return
        }
        #expect(code == .deadlineExceeded)
        #expect(message.contains("idle"))
    }

    @Test func adminAuthenticateIsHandedUpThenAccepted() {
        var machine = self.helloed()
        let (frame, request) = self.authenticate()
        #expect(machine.frameReceived(frame, now: self.t0) == .authenticateAdmin(streamID: 1, request: request))
        var response = AdminAuthenticated()
        response.keyID = "k"
        let expected = Frame(type: .response, method: AdminMethod.authenticate.rawValue, streamID: 1,
                             payload: response.protoBytes())
        #expect(machine.adminAuthenticated(streamID: 1, session: self.session, response: response, now: self.t0)
                == .acceptAdmin(response: expected, maxFrameBytes: self.configuration.maxFrameBytes))
        #expect(machine.adminAuthenticated(streamID: 1, session: self.session, response: response, now: self.t0) == .none)
    }

    @Test func refusedAdminKeyClosesWithTheGivenStatus() {
        var machine = self.helloed()
        _ = machine.frameReceived(self.authenticate().0, now: self.t0)
        #expect(machine.adminAuthenticationRefused(code: .unauthenticated, message: "bad key")
                == .closeWithError(code: .unauthenticated, message: "bad key"))
        #expect(machine.isClosed)
    }

    @Test func frameWhileTheKeyIsCheckedCloses() {
        var machine = self.helloed()
        _ = machine.frameReceived(self.authenticate().0, now: self.t0)
        if case .closeWithError(let code, _) = machine.frameReceived(self.authenticate(streamID: 3).0, now: self.t0) {
            #expect(code == .failedPrecondition)
        } else {
            Issue.record("expected closeWithError")
        }
    }

    @Test func adminCallsAreHandedUpAndOtherCallsRefused() {
        var machine = self.adminMachine()
        let call = Frame(type: .request, method: AdminMethod.tokenList.rawValue, streamID: 3)
        #expect(machine.frameReceived(call, now: self.t0) == .adminCall(call, session: self.session))
        let heartbeat = Frame(type: .request, method: CallMethod.heartbeat.rawValue, streamID: 5)
        #expect(machine.frameReceived(heartbeat, now: self.t0) == .refuseCall(
            ServerConnectionMachine.errorFrame(for: heartbeat, code: .failedPrecondition,
                                               "method 2 is not an admin call")))
        #expect(!machine.isClosed)
    }

    @Test func adminCallBeforeAuthenticationCloses() {
        var machine = self.helloed()
        let call = Frame(type: .request, method: AdminMethod.tokenList.rawValue, streamID: 1)
        if case .closeWithError(let code, _) = machine.frameReceived(call, now: self.t0) {
            #expect(code == .failedPrecondition)
        } else {
            Issue.record("expected closeWithError")
        }
    }

    @Test func adminKeyCheckHasTheRegistrationDeadline() {
        var machine = self.helloed()
        _ = machine.frameReceived(self.authenticate().0, now: self.t0)
        #expect(machine.tick(now: self.t0 + .seconds(1)) == .none)
        if case .closeWithError(let code, _) = machine.tick(now: self.t0 + self.configuration.registrationTimeout) {
            #expect(code == .deadlineExceeded)
        } else {
            Issue.record("expected closeWithError")
        }
    }
}
