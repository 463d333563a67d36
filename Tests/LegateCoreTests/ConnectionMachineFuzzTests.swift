import LegateWire
import Testing

@testable import LegateCore

/// Seeded, bounded fuzzing of the manager-side connection machine: any sequence of frames, ticks and
/// upper-layer answers must produce an action, never a crash, and a closed machine must stay closed.
@Suite struct ConnectionMachineFuzzTests {
    @Test func randomFrameSequencesNeverCrashAndClosedStaysClosed() {
        let seed: UInt64 = 0x1e6a_7e00_0000_0005
        var random = SeededJitter(seed: seed)
        func next(_ bound: Int) -> Int { Int(random.nextUnit() * Double(bound)) }
        let t0 = ContinuousClock.now
        var hello = Hello()
        hello.protocolVersion = ProtocolVersion.current
        let helloBytes = hello.protoBytes()
        for trial in 0..<2_000 {
            var machine = ServerConnectionMachine(configuration: .defaults, now: t0)
            var now = t0
            var wasClosed = false
            for _ in 0..<20 {
                now = now + .milliseconds(Int64(next(3_000)))
                let type = FrameType.allCases[next(FrameType.allCases.count)]
                var payload: [UInt8] = (0..<next(24)).map { _ in UInt8(next(256)) }
                if type == .hello && next(2) == 0 { payload = helloBytes }
                let frame = Frame(type: type, method: UInt16(next(4)), streamID: UInt32(next(8)), payload: payload)
                let action: ServerConnectionMachine.Action
                switch next(6) {
                case 0: action = machine.tick(now: now)
                case 1: action = machine.registrationRefused(code: .unauthenticated, message: "fuzz")
                case 2:
                    var response = RegisterResponse()
                    response.delegateID = "dlg_fuzz"
                    action = machine.registrationAccepted(streamID: frame.streamID, response: response, now: now)
                default: action = machine.frameReceived(frame, now: now)
                }
                if wasClosed {
                    let harmless: Bool
                    switch action {
                    case .none, .close: harmless = true
                    default: harmless = false
                    }
                    #expect(harmless, "trial \(trial) (seed \(seed)): closed machine produced \(action)")
                }
                wasClosed = machine.isClosed
            }
        }
    }
}
