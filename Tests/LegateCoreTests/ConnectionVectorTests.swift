import LegateTestSupport
import LegateWire
import Testing

@testable import LegateCore

/// The stream-id sequences of `Proto/vectors/frames.json` ("connections"), replayed against the machine.
@Suite struct ConnectionVectorTests {
    struct ConnectionVector: Decodable, Sendable, CustomTestStringConvertible {
        let id: Int
        let comment: String
        let frames: [String]
        let fatalAt: Int?
        let status: Int32

        var testDescription: String { "#\(self.id) \(self.comment)" }
    }

    struct File: Decodable {
        let connections: [ConnectionVector]
    }

    static let vectors: [ConnectionVector] = (try? Vectors.load("frames.json", as: File.self).connections) ?? []

    @Test func vectorsLoaded() {
        #expect(Self.vectors.count >= 8)
    }

    @Test(arguments: Self.vectors)
    func replay(_ vector: ConnectionVector) throws {
        let t0 = ContinuousClock.now
        var machine = ServerConnectionMachine(configuration: .defaults, now: t0)
        var hello = Hello()
        hello.protocolVersion = 1
        _ = machine.frameReceived(Frame(type: .hello, payload: hello.protoBytes()), now: t0)
        _ = machine.frameReceived(
            Frame(type: .request, method: CallMethod.register.rawValue, streamID: 1, payload: []), now: t0)
        var response = RegisterResponse()
        response.delegateID = "dlg_vector"
        _ = machine.registrationAccepted(streamID: 1, response: response, now: t0)
        var fatalAt: Int?
        var status: StatusCode?
        for (index, hex) in vector.frames.enumerated() {
            var decoder = FrameDecoder(maxFrameBytes: FrameLimits.defaultMaxFrameBytes)
            decoder.append(contentsOf: try Vectors.bytes(hex: hex))
            let frame = try #require(try decoder.nextFrame())
            if case .closeWithError(let code, _) = machine.frameReceived(frame, now: t0) {
                fatalAt = index
                status = code
                break
            }
        }
        #expect(fatalAt == vector.fatalAt)
        if vector.fatalAt != nil { #expect(status == StatusCode(rawValue: vector.status)) }
    }
}
