import LegateWire
import Testing

@Suite("FrameDecoder boundaries and state")
struct FrameDecoderTests {
    static func header(length: UInt32, type: UInt8 = 3, flags: UInt8 = 0) -> [UInt8] {
        [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
         type, flags, 0, 1, 0, 0, 0, 1]
    }

    @Test(arguments: [0, 1, 16383, 16384])
    func acceptedUpToThePreAuthLimit(_ length: Int) throws {
        var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxPreAuthFrameBytes)
        decoder.append(contentsOf: Self.header(length: UInt32(length)))
        #expect(try decoder.nextFrame() == nil || length == 0)
        decoder.append(contentsOf: [UInt8](repeating: 7, count: length))
        if length > 0 {
            let frame = try #require(try decoder.nextFrame())
            #expect(frame.payload.count == length)
        }
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test(arguments: [UInt32(16385), 1 << 20, UInt32.max])
    func refusedAboveThePreAuthLimitWithOnlyTheHeader(_ length: UInt32) {
        var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxPreAuthFrameBytes)
        decoder.append(contentsOf: Self.header(length: length))
        #expect(throws: WireError.frameTooLarge(declared: length, limit: 16384)) { try decoder.nextFrame() }
        #expect(throws: WireError.decoderPoisoned) { try decoder.nextFrame() }
        #expect(WireError.frameTooLarge(declared: length, limit: 16384).status == .resourceExhausted)
    }

    @Test func limitRaisedAfterAuthentication() throws {
        var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxPreAuthFrameBytes)
        decoder.append(contentsOf: Self.header(length: 20000) + [UInt8](repeating: 1, count: 20000))
        decoder.maxFrameBytes = FrameLimits.defaultMaxFrameBytes
        #expect(try decoder.nextFrame()?.payload.count == 20000)
    }

    @Test func ceilingCapsAnyConfiguredLimit() {
        var decoder = FrameDecoder(maxFrameBytes: Int.max)
        decoder.append(contentsOf: Self.header(length: UInt32(FrameLimits.maxFrameBytesCeiling + 1)))
        #expect(throws: WireError.frameTooLarge(declared: UInt32(16 << 20) + 1, limit: 16 << 20)) {
            try decoder.nextFrame()
        }
    }

    @Test func shortBufferConsumesNothing() throws {
        var decoder = FrameDecoder(maxFrameBytes: 100)
        decoder.append(contentsOf: Self.header(length: 5) + [1, 2])
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedByteCount == 14)
        [UInt8]([3, 4, 5, 9]).withUnsafeBytes { decoder.append($0) }
        #expect(try decoder.nextFrame()?.payload == [1, 2, 3, 4, 5])
        #expect(decoder.bufferedByteCount == 1)
    }

    @Test func manyFramesKeepTheBufferBounded() throws {
        var decoder = FrameDecoder(maxFrameBytes: 1000)
        var one: [UInt8] = []
        FrameEncoder.encode(Frame(type: .ping, payload: [1, 2, 3]), into: &one)
        let stream = [[UInt8]](repeating: one, count: 10_000).flatMap { $0 }
        var index = 0
        var decoded = 0
        var chunk = 1
        while index < stream.count {
            let end = min(stream.count, index + chunk)
            decoder.append(contentsOf: stream[index..<end])
            index = end
            chunk = chunk % 37 + 1
            while let frame = try decoder.nextFrame() {
                #expect(frame.payload == [1, 2, 3])
                decoded += 1
            }
            #expect(decoder.bufferedByteCount < one.count)
        }
        #expect(decoded == 10_000)
    }

    @Test func statusMapping() {
        #expect(WireError.unknownFrameType(11).status == .invalidArgument)
        #expect(WireError.reservedFlags(1).status == .invalidArgument)
        #expect(WireError.truncatedVarint(offset: 0).status == .invalidArgument)
        #expect(WireError.decoderPoisoned.status == .failedPrecondition)
        let text = WireError.frameTooLarge(declared: 20000, limit: 16384).description
        #expect(text.contains("20000") && text.contains("16384"))
    }

    @Test func encodeMessageMatchesEncodePayload() throws {
        let beat = Heartbeat(jwt: String(repeating: "j", count: 357), delegateID: "dlg_1", sequence: 42,
                             runningTasks: 1, freeCapacity: 3)
        var direct: [UInt8] = [0xEE]
        FrameEncoder.encode(.request, method: CallMethod.heartbeat.rawValue, streamID: 7, message: beat, into: &direct)
        var viaPayload: [UInt8] = [0xEE]
        FrameEncoder.encode(
            Frame(type: .request, method: 2, streamID: 7, payload: beat.protoBytes()), into: &viaPayload)
        #expect(direct == viaPayload)
        var decoder = FrameDecoder(maxFrameBytes: FrameLimits.defaultMaxFrameBytes)
        decoder.append(contentsOf: direct.dropFirst())
        let frame = try #require(try decoder.nextFrame())
        #expect(try Heartbeat(protoBytes: frame.payload) == beat)
    }
}
