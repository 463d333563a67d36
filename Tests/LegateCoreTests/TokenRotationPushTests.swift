import LegateWire
import Testing

@testable import LegateCore

/// TOKEN_ROTATED (push kind 3) on the delegate side.
@Suite struct TokenRotationPushTests {
    let t0 = ContinuousClock.now

    func registered() -> DelegateSessionMachine {
        DelegateSessionMachine.registeredForTesting(now: self.t0, heartbeatIntervalMs: 1000)
    }

    @Test func rotationIsHandedUpWithItsAcknowledgementAndTheSessionStays() throws {
        var machine = self.registered()
        #expect(machine.isRegistered)
        var message = TokenRotated()
        message.oldTokenID = "old"
        message.newTokenID = "new"
        message.tokenValue = "lgt_new_value"
        let push = Frame(
            type: .push, method: PushKind.tokenRotated.rawValue, streamID: 4, payload: message.protoBytes())
        guard case .tokenRotated(let received, let ack) = machine.frameReceived(push, now: self.t0) else {
            Issue.record("TOKEN_ROTATED was not handed up")
            return
        }
        #expect(received == message)
        #expect(ack.type == .pushAck && ack.streamID == 4 && ack.method == PushKind.tokenRotated.rawValue)
        #expect(machine.isRegistered)
    }

    @Test func rotationWithoutAValueIsNotAcknowledged() {
        // An ACK would move the delegate to the new token on the manager while it still signs with the old one.
        var machine = self.registered()
        let push = Frame(
            type: .push, method: PushKind.tokenRotated.rawValue, streamID: 4, payload: TokenRotated().protoBytes())
        #expect(machine.frameReceived(push, now: self.t0) == .none)
        #expect(machine.isRegistered)
    }
}
