import LegateWire
import Testing

/// The encoder never writes a frame above the receiver's limit or the 16 MiB ceiling when asked to check.
@Suite struct FrameEncoderLimitTests {
  @Test func fitsIsInclusiveAndClampedToTheCeiling() {
    #expect(FrameEncoder.fits(payloadBytes: 0, limit: 0))
    #expect(FrameEncoder.fits(payloadBytes: 1000, limit: 1000))
    #expect(!FrameEncoder.fits(payloadBytes: 1001, limit: 1000))
    #expect(FrameEncoder.fits(payloadBytes: FrameLimits.maxFrameBytesCeiling, limit: Int.max))
    #expect(!FrameEncoder.fits(payloadBytes: FrameLimits.maxFrameBytesCeiling + 1, limit: Int.max))
    #expect(!FrameEncoder.fits(payloadBytes: -1, limit: 10))
  }

  @Test func aFrameAboveTheLimitIsRefusedAndNothingIsWritten() throws {
    var buffer: [UInt8] = [9]
    let frame = Frame(
      type: .response, method: 132, streamID: 3, payload: [UInt8](repeating: 1, count: 101))
    #expect(throws: WireError.frameTooLarge(declared: 101, limit: 100)) {
      try FrameEncoder.encode(frame, limit: 100, into: &buffer)
    }
    #expect(buffer == [9])
    try FrameEncoder.encode(frame, limit: 101, into: &buffer)
    #expect(buffer.count == 1 + FrameLimits.headerBytes + 101)
  }

  @Test func aMessageAboveTheLimitIsRefusedBeforeEncoding() throws {
    var status = Status()
    status.message = String(repeating: "m", count: 200)
    var buffer: [UInt8] = []
    #expect(throws: WireError.frameTooLarge(declared: UInt32(status.encodedSize), limit: 150)) {
      try FrameEncoder.encode(
        .error, method: 0, streamID: 0, message: status, limit: 150, into: &buffer)
    }
    #expect(buffer.isEmpty)
    try FrameEncoder.encode(
      .error, method: 0, streamID: 0, message: status, limit: 1 << 20, into: &buffer)
    var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
    decoder.append(contentsOf: buffer)
    #expect(try decoder.nextFrame()?.payload == status.protoBytes())
  }

  @Test func aPeersAnnouncedLimitDefaultsAndIsClamped() {
    #expect(FrameLimits.peerLimit(announced: 0) == FrameLimits.defaultMaxFrameBytes)
    #expect(FrameLimits.peerLimit(announced: 20_000) == 20_000)
    #expect(FrameLimits.peerLimit(announced: UInt32.max) == FrameLimits.maxFrameBytesCeiling)
  }
}
