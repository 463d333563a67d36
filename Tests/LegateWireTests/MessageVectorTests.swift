import LegateTestSupport
import LegateWire
import Testing

@Suite("Message vectors (Proto/vectors/messages.json)")
struct MessageVectorTests {
    @Test func vectorsLoaded() {
        #expect(WireVectors.validMessages.count >= 30)
        #expect(WireVectors.invalidMessages.count >= 10)
        #expect(Set(WireVectors.validMessages.map(\.message)) == Set(WireVectors.messageTypes.keys))
    }

    @Test(arguments: WireVectors.validMessages)
    func validDecodesAndReencodes(_ vector: MessageVector) throws {
        let type = try #require(WireVectors.messageTypes[vector.message])
        let expectedFields = try #require(WireVectors.messageFields[vector.id])
        let canonical = try Vectors.bytes(hex: vector.canonicalHex ?? vector.hex)
        switch decodeMessage(type, vector.bytes) {
        case .success(let (fields, encoded)):
            #expect(fields == expectedFields)
            #expect(Vectors.hex(encoded) == Vectors.hex(canonical))
        case .failure(let error):
            Issue.record("decoding failed: \(error)")
        }
        // The canonical form decodes to the same value.
        if case .success(let (fields, _)) = decodeMessage(type, canonical) { #expect(fields == expectedFields) }
    }

    @Test(arguments: WireVectors.invalidMessages)
    func invalidIsRefusedWithTheNamedError(_ vector: MessageVector) throws {
        let type = try #require(WireVectors.messageTypes[vector.message])
        switch decodeMessage(type, vector.bytes) {
        case .success: Issue.record("decoded, but the vector is invalid")
        case .failure(let error):
            #expect(caseName(error) == vector.error)
            #expect(error.status == .invalidArgument)
        }
    }

    @Test(arguments: WireVectors.validMessages)
    func everyInputRepresentationAgrees(_ vector: MessageVector) throws {
        guard vector.message == "RegisterRequest" else { return }
        let bytes = vector.bytes
        let fromArray = try RegisterRequest(protoBytes: bytes)
        let fromSlice = try RegisterRequest(protoBytes: ([0xFF] + bytes)[1...])
        let fromRaw = try bytes.withUnsafeBytes { raw in try RegisterRequest(protoBytes: raw) }
        #expect(fromArray == fromSlice && fromSlice == fromRaw)
    }

    @Test func truncatingAValidMessageNeverCrashes() {
        for vector in WireVectors.validMessages {
            guard let type = WireVectors.messageTypes[vector.message] else { continue }
            let bytes = vector.bytes
            for cut in 0..<bytes.count { _ = decodeMessage(type, Array(bytes[..<cut])) }
        }
    }
}
