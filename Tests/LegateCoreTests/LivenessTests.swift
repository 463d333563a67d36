import LegateWire
import Testing

@testable import LegateCore

/// Liveness with a fake clock: defaults, configured values announced, grace counted from each beat.
@Suite struct LivenessTests {
    let t0 = ContinuousClock.now

    func registered(_ configuration: ServerConnectionMachine.Configuration) throws -> ServerConnectionMachine {
        var machine = ServerConnectionMachine(configuration: configuration, now: self.t0)
        var hello = Hello()
        hello.protocolVersion = ProtocolVersion.current
        guard
            case .completeHello(let frame) = machine.frameReceived(
                Frame(type: .hello, payload: hello.protoBytes()), now: self.t0)
        else {
            Issue.record("HELLO not answered")
            return machine
        }
        let ack = try HelloAck(protoBytes: frame.payload)
        #expect(ack.heartbeatIntervalMs == configuration.heartbeatInterval.wireMilliseconds)
        #expect(ack.heartbeatGraceMs == configuration.heartbeatGrace.wireMilliseconds)
        var request = RegisterRequest()
        request.accountID = "acc"
        request.instanceID = "ins"
        request.delegateName = "d"
        request.jwt = "x.y.z"
        _ = machine.frameReceived(
            Frame(type: .request, method: CallMethod.register.rawValue, streamID: 1, payload: request.protoBytes()),
            now: self.t0)
        var response = RegisterResponse()
        response.delegateID = "dlg_1"
        _ = machine.registrationAccepted(streamID: 1, response: response, now: self.t0)
        return machine
    }

    @Test func defaultsAreTenSecondsAndThreeMissedBeats() {
        let defaults = ServerConnectionMachine.Configuration.defaults
        #expect(defaults.heartbeatInterval == .seconds(10))
        #expect(defaults.heartbeatGrace == defaults.heartbeatInterval * 3)
    }

    @Test func aDelegateThatStopsBeatingIsDroppedExactlyAtTheGrace() throws {
        var configuration = ServerConnectionMachine.Configuration.defaults
        configuration.heartbeatInterval = .milliseconds(200)
        configuration.heartbeatGrace = .milliseconds(600)
        var machine = try self.registered(configuration)
        // Beats keep it alive: each one restarts the grace.
        for beat in 1...10 {
            let at = self.t0 + .milliseconds(500 * beat)
            #expect(machine.tick(now: at) == .none, "beat \(beat)")
            machine.heartbeatVerified(now: at)
        }
        let last = self.t0 + .milliseconds(5_000)
        #expect(machine.tick(now: last + .milliseconds(599)) == .none)
        guard case .closeWithError(let code, let message) = machine.tick(now: last + .milliseconds(600)) else {
            Issue.record("the grace was not enforced")
            return
        }
        #expect(code == .deadlineExceeded && message.contains("no heartbeat"))
    }
}
