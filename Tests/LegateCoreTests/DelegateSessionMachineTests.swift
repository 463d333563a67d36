import LegateWire
import Testing

@testable import LegateCore

/// The delegate-side machine, one transition per test, time moved by arithmetic.
@Suite struct DelegateSessionMachineTests {
    let t0 = ContinuousClock.now

    func helloAck(version: UInt32 = ProtocolVersion.current) -> Frame {
        var ack = HelloAck()
        ack.protocolVersion = version
        ack.maxFrameBytes = 1 << 20
        ack.heartbeatIntervalMs = 10_000
        return Frame(type: .helloAck, payload: ack.protoBytes())
    }

    func registered() -> DelegateSessionMachine {
        DelegateSessionMachine.registeredForTesting(now: self.t0, heartbeatIntervalMs: 10000)
    }

    func status(_ code: StatusCode, _ message: String) -> [UInt8] {
        var status = Status()
        status.code = code
        status.message = message
        return status.protoBytes()
    }

    @Test func helloAckLeadsToRegistrationOnStreamOne() {
        var machine = DelegateSessionMachine()
        #expect(machine.frameReceived(self.helloAck(), now: self.t0)
            == .sendRegistration(streamID: 1, maxFrameBytes: 1 << 20))
    }

    @Test func wrongProtocolVersionStops() {
        var machine = DelegateSessionMachine()
        guard case .stop(let code, _) = machine.frameReceived(self.helloAck(version: 9), now: self.t0) else {
            Issue.record("expected stop")
            return
        }
        #expect(code == .failedPrecondition)
    }

    @Test func registrationResponseStartsHeartbeats() {
        var machine = DelegateSessionMachine()
        _ = machine.frameReceived(self.helloAck(), now: self.t0)
        var response = RegisterResponse()
        response.delegateID = "dlg_1"
        response.heartbeatIntervalMs = 2500
        let action = machine.frameReceived(
            Frame(type: .response, method: 1, streamID: 1, payload: response.protoBytes()), now: self.t0)
        #expect(action == .registered(response, heartbeatInterval: .milliseconds(2500)))
        #expect(machine.isRegistered)
    }

    @Test(arguments: [StatusCode.unauthenticated, .permissionDenied, .invalidArgument])
    func registrationRefusedForAuthStops(code: StatusCode) {
        var machine = DelegateSessionMachine()
        _ = machine.frameReceived(self.helloAck(), now: self.t0)
        let action = machine.frameReceived(
            Frame(type: .error, method: 1, streamID: 1, payload: self.status(code, "no")), now: self.t0)
        #expect(action == .stop(code: code, message: "registration refused: no"))
    }

    @Test func registrationRefusedWhileUnavailableRetries() {
        var machine = DelegateSessionMachine()
        _ = machine.frameReceived(self.helloAck(), now: self.t0)
        let action = machine.frameReceived(
            Frame(type: .error, method: 1, streamID: 1, payload: self.status(.unavailable, "busy")), now: self.t0)
        #expect(action == .retry(code: .unavailable, message: "registration refused: busy"))
    }

    @Test func oneHeartbeatInFlightAtATimeWithRoundTrip() throws {
        var machine = self.registered()
        #expect(machine.heartbeatDue(now: self.t0) == .sendHeartbeat(streamID: 3, sequence: 1))
        #expect(machine.heartbeatDue(now: self.t0 + .seconds(1)) == .none)
        var ack = HeartbeatAck()
        ack.sequence = 1
        let answer = Frame(type: .response, method: 2, streamID: 3, payload: ack.protoBytes())
        #expect(machine.frameReceived(answer, now: self.t0 + .milliseconds(3))
            == .heartbeatAcknowledged(ack, roundTrip: .milliseconds(3)))
        #expect(machine.heartbeatDue(now: self.t0 + .seconds(10)) == .sendHeartbeat(streamID: 5, sequence: 2))
    }

    @Test func heartbeatRefusedStops() {
        var machine = self.registered()
        _ = machine.heartbeatDue(now: self.t0)
        let action = machine.frameReceived(
            Frame(type: .error, method: 2, streamID: 3, payload: self.status(.permissionDenied, "revoked")),
            now: self.t0)
        #expect(action == .stop(code: .permissionDenied, message: "heartbeat refused: revoked"))
    }

    @Test func selfDestructIsAcknowledgedOnItsStream() throws {
        var machine = self.registered()
        var message = SelfDestruct()
        message.reason = "token revoked"
        let push = Frame(type: .push, method: PushKind.selfDestruct.rawValue, streamID: 2, payload: message.protoBytes())
        guard case .selfDestruct(let received, let ack) = machine.frameReceived(push, now: self.t0) else {
            Issue.record("SELF_DESTRUCT not reported")
            return
        }
        #expect(received.reason == "token revoked")
        #expect(ack.type == .pushAck && ack.streamID == 2 && ack.method == PushKind.selfDestruct.rawValue)
        #expect(machine.heartbeatDue(now: self.t0) == .none)
    }

    @Test func unknownPushKindIsAcknowledgedAndIgnored() {
        var machine = self.registered()
        guard case .send(let ack) = machine.frameReceived(Frame(type: .push, method: 77, streamID: 4), now: self.t0)
        else {
            Issue.record("unknown push must still be acknowledged")
            return
        }
        #expect(ack.type == .pushAck && ack.streamID == 4)
        #expect(machine.isRegistered)
    }

    @Test func goAwayAsksForALaterReconnect() {
        var machine = self.registered()
        var goAway = GoAway()
        goAway.reason = "restart"
        goAway.reconnectAfterMs = 1500
        #expect(machine.frameReceived(Frame(type: .goAway, payload: goAway.protoBytes()), now: self.t0)
            == .reconnectLater(reason: "restart", reconnectAfter: .milliseconds(1500)))
    }

    @Test func connectionErrorOnStreamZeroIsClassified() {
        var machine = self.registered()
        #expect(machine.frameReceived(
            Frame(type: .error, payload: self.status(.deadlineExceeded, "slow")), now: self.t0)
            == .retry(code: .deadlineExceeded, message: "slow"))
    }
}

/// Backoff grows, stays within bounds, and spreads a fleet.
@Suite struct ReconnectBackoffTests {
    @Test func growsToTheCeilingWithJitterInTheUpperHalf() {
        var backoff = ReconnectBackoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(2))
        var jitter = SeededJitter(seed: 42)
        var bases: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                                 .milliseconds(1600), .seconds(2), .seconds(2)]
        bases.reverse()
        while let base = bases.popLast() {
            let delay = backoff.failed(using: &jitter)
            #expect(delay >= base / 2 && delay <= base, "delay \(delay) outside [\(base / 2), \(base)]")
        }
        backoff.succeeded()
        let afterSuccess = backoff.failed(using: &jitter)
        #expect(afterSuccess <= .milliseconds(100))
    }

    @Test func aFleetSpreadsOut() {
        var jitter = SeededJitter(seed: 7)
        var delays = Set<Int64>()
        for _ in 0..<1000 {
            var backoff = ReconnectBackoff.defaults
            delays.insert(Int64(backoff.failed(using: &jitter).components.attoseconds / 1_000_000_000_000))
        }
        #expect(delays.count > 500)
    }

    @Test func serverRequestedDelayIsNeverShortened() {
        var jitter = SeededJitter(seed: 1)
        let backoff = ReconnectBackoff.defaults
        for _ in 0..<100 {
            let delay = backoff.serverRequested(.seconds(1), using: &jitter)
            #expect(delay >= .seconds(1) && delay <= .milliseconds(1500))
        }
    }
}
