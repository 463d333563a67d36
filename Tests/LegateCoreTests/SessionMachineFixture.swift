import LegateWire

@testable import LegateCore

extension DelegateSessionMachine {
    /// A machine that has had HELLO_ACK and a successful Register answer (delegate `dlg_1`) at `now`.
    static func registeredForTesting(now: ContinuousClock.Instant, heartbeatIntervalMs: UInt32 = 10_000)
        -> DelegateSessionMachine
    {
        var machine = DelegateSessionMachine()
        var ack = HelloAck()
        ack.protocolVersion = ProtocolVersion.current
        ack.heartbeatIntervalMs = heartbeatIntervalMs
        _ = machine.frameReceived(Frame(type: .helloAck, payload: ack.protoBytes()), now: now)
        var response = RegisterResponse()
        response.delegateID = "dlg_1"
        response.heartbeatIntervalMs = heartbeatIntervalMs
        _ = machine.frameReceived(
            Frame(type: .response, method: CallMethod.register.rawValue, streamID: 1, payload: response.protoBytes()),
            now: now)
        return machine
    }
}
