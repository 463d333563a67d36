import LegateTestSupport
import LegateWire
import Testing

@Suite("Frame vectors (Proto/vectors/frames.json)")
struct FrameVectorTests {
    @Test func vectorsLoaded() {
        #expect(WireVectors.validFrames.count >= 10)
        #expect(WireVectors.invalidFrames.count >= 8)
        let types = Set(WireVectors.validFrames.compactMap { $0.frame?.type })
        #expect(types == Set(FrameType.allCases.map(\.rawValue)), "one valid vector per frame type")
    }

    static func expectedFrame(_ vector: FrameVector) throws -> Frame {
        let header = try #require(vector.frame)
        let type = try #require(FrameType(rawValue: header.type))
        return Frame(
            type: type, flags: header.flags, method: header.method, streamID: header.streamID,
            payload: try Vectors.bytes(hex: header.payloadHex))
    }

    @Test(arguments: WireVectors.validFrames)
    func validWholeAndByteByByte(_ vector: FrameVector) throws {
        let expected = try Self.expectedFrame(vector)
        let bytes = vector.bytes
        let whole = decodeChunks([bytes], maxFrameBytes: vector.maxFrameBytes)
        #expect(whole.error == nil)
        #expect(whole.frames == [expected])
        if bytes.count <= 4096 {
            let single = decodeChunks(bytes.map { [$0] }, maxFrameBytes: vector.maxFrameBytes)
            #expect(single.error == nil)
            #expect(single.frames == [expected])
        }
        var encoded: [UInt8] = []
        FrameEncoder.encode(expected, into: &encoded)
        #expect(encoded == bytes, "encoding the decoded frame gives the vector's bytes")
    }

    @Test(arguments: WireVectors.validFrames)
    func validSplitAtEveryOffset(_ vector: FrameVector) throws {
        let expected = try Self.expectedFrame(vector)
        let bytes = vector.bytes
        let step = bytes.count <= 2048 ? 1 : 97
        for split in stride(from: 0, through: bytes.count, by: step) {
            let result = decodeChunks([Array(bytes[..<split]), Array(bytes[split...])], maxFrameBytes: vector.maxFrameBytes)
            #expect(result.error == nil, "split at \(split)")
            #expect(result.frames == [expected], "split at \(split)")
        }
    }

    @Test func validConcatenatedInOneStream() throws {
        let vectors = WireVectors.validFrames
        let expected = try vectors.map(Self.expectedFrame)
        let stream = vectors.flatMap(\.bytes)
        let limit = FrameLimits.defaultMaxFrameBytes
        #expect(decodeChunks([stream], maxFrameBytes: limit).frames == expected)
        var chunks: [[UInt8]] = []
        var index = 0
        var size = 1
        while index < stream.count {
            let end = min(stream.count, index + size)
            chunks.append(Array(stream[index..<end]))
            index = end
            size = size % 701 + 13
        }
        let chunked = decodeChunks(chunks, maxFrameBytes: limit)
        #expect(chunked.error == nil)
        #expect(chunked.frames == expected)
    }

    @Test(arguments: WireVectors.invalidFrames)
    func invalidRefusedWithHeaderOnly(_ vector: FrameVector) throws {
        let bytes = vector.bytes
        let whole = decodeChunks([bytes], maxFrameBytes: vector.maxFrameBytes)
        let error = try #require(whole.error)
        #expect(caseName(error) == vector.error)
        #expect(whole.frames.isEmpty)
        // Byte by byte: nothing is reported until the 12th header byte, then the error.
        var decoder = FrameDecoder(maxFrameBytes: vector.maxFrameBytes)
        for byte in bytes.prefix(FrameLimits.headerBytes - 1) {
            decoder.append(contentsOf: [byte])
            #expect(throws: Never.self) { _ = try decoder.nextFrame() }
        }
        decoder.append(contentsOf: bytes.dropFirst(FrameLimits.headerBytes - 1).prefix(1))
        #expect(throws: error) { _ = try decoder.nextFrame() }
        #expect(throws: WireError.decoderPoisoned) { _ = try decoder.nextFrame() }
    }

    @Test(arguments: WireVectors.invalidFrames)
    func invalidAfterAValidFrame(_ vector: FrameVector) throws {
        let first = try #require(WireVectors.validFrames.first { $0.frame?.payloadHex.isEmpty == true })
        let result = decodeChunks([first.bytes + vector.bytes], maxFrameBytes: vector.maxFrameBytes)
        #expect(result.frames.count == 1)
        #expect(result.error.map(caseName) == vector.error)
    }
}
