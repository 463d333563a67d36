import LegateWire
import Testing

@testable import LegateCore

/// The delegate side of a refused heartbeat JWT: re-mint and retry, without spinning, and keep the session.
@Suite struct HeartbeatRefusalTests {
    let t0 = ContinuousClock.now

    func refusal(_ code: StatusCode, streamID: UInt32) -> Frame {
        var status = Status()
        status.code = code
        status.message = "JWT is outside its validity window"
        return Frame(type: .error, method: CallMethod.heartbeat.rawValue, streamID: streamID, payload: status.protoBytes())
    }

    @Test func anUnauthenticatedHeartbeatIsRetriedAtOnceOncePerRunAndTheSessionStays() {
        var machine = DelegateSessionMachine.registeredForTesting(now: self.t0)
        #expect(machine.heartbeatDue(now: self.t0) == .sendHeartbeat(streamID: 3, sequence: 1))
        guard case .heartbeatRefused(let message, let retryNow) =
            machine.frameReceived(self.refusal(.unauthenticated, streamID: 3), now: self.t0)
        else {
            Issue.record("an UNAUTHENTICATED heartbeat must not end the session")
            return
        }
        #expect(retryNow && message.contains("validity window"))
        #expect(machine.isRegistered)
        #expect(machine.heartbeatDue(now: self.t0) == .sendHeartbeat(streamID: 5, sequence: 2))
        #expect(machine.frameReceived(self.refusal(.unauthenticated, streamID: 5), now: self.t0)
            == .heartbeatRefused(message: "heartbeat refused: JWT is outside its validity window", retryNow: false))
        // A beat that passes starts a new run: the next refusal is retried at once again.
        _ = machine.heartbeatDue(now: self.t0)
        var ack = HeartbeatAck()
        ack.sequence = 3
        _ = machine.frameReceived(
            Frame(type: .response, method: CallMethod.heartbeat.rawValue, streamID: 7, payload: ack.protoBytes()),
            now: self.t0)
        _ = machine.heartbeatDue(now: self.t0)
        guard case .heartbeatRefused(_, true) = machine.frameReceived(self.refusal(.unauthenticated, streamID: 9), now: self.t0)
        else {
            Issue.record("expected an immediate retry after a success")
            return
        }
    }

    @Test func otherHeartbeatRefusalsStillEndTheSession() {
        var machine = DelegateSessionMachine.registeredForTesting(now: self.t0)
        _ = machine.heartbeatDue(now: self.t0)
        guard case .stop(let code, _) = machine.frameReceived(self.refusal(.permissionDenied, streamID: 3), now: self.t0)
        else {
            Issue.record("PERMISSION_DENIED must stop")
            return
        }
        #expect(code == .permissionDenied)
    }
}
