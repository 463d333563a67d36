/// A push parser for frames: feed bytes with `append`, take frames with `nextFrame()`.
///
/// The header's length is checked against `maxFrameBytes` as soon as the 12 header bytes are in, before any
/// payload byte is buffered, so a peer-declared length never drives an allocation beyond the limit.
/// After any error the decoder is poisoned and every later `nextFrame()` throws `.decoderPoisoned`.
public struct FrameDecoder: Sendable {
    /// The largest payload accepted (clamped to `FrameLimits.maxFrameBytesCeiling`); raised after authentication.
    public var maxFrameBytes: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var poisoned = false

    /// A decoder refusing payloads above `maxFrameBytes`.
    public init(maxFrameBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Appends bytes read from the connection.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes read from the connection (contiguous collections take the raw-buffer path).
    @inlinable
    public mutating func append(contentsOf bytes: some Collection<UInt8>) {
        let appended: Void? = bytes.withContiguousStorageIfAvailable { self.append(UnsafeRawBufferPointer($0)) }
        if appended == nil {
            Array(bytes).withUnsafeBytes { self.append($0) }
        }
    }

    /// The next complete frame, or nil when more bytes are needed (nothing is consumed then).
    public mutating func nextFrame() throws(WireError) -> Frame? {
        if poisoned { throw .decoderPoisoned }
        let available = buffer.count - readIndex
        guard available >= FrameLimits.headerBytes else { return nil }
        let header = readIndex
        let length = UInt32(buffer[header]) << 24 | UInt32(buffer[header + 1]) << 16
            | UInt32(buffer[header + 2]) << 8 | UInt32(buffer[header + 3])
        let limit = max(0, min(maxFrameBytes, FrameLimits.maxFrameBytesCeiling))
        guard let payloadLength = Int(exactly: length), payloadLength <= limit else {
            poisoned = true
            throw .frameTooLarge(declared: length, limit: limit)
        }
        guard let type = FrameType(rawValue: buffer[header + 4]) else {
            poisoned = true
            throw .unknownFrameType(buffer[header + 4])
        }
        let flags = buffer[header + 5]
        guard flags == 0 else {
            poisoned = true
            throw .reservedFlags(flags)
        }
        guard available - FrameLimits.headerBytes >= payloadLength else {
            buffer.reserveCapacity(readIndex + FrameLimits.headerBytes + payloadLength)
            return nil
        }
        let method = UInt16(buffer[header + 6]) << 8 | UInt16(buffer[header + 7])
        let streamID = UInt32(buffer[header + 8]) << 24 | UInt32(buffer[header + 9]) << 16
            | UInt32(buffer[header + 10]) << 8 | UInt32(buffer[header + 11])
        let start = header + FrameLimits.headerBytes
        let payload = Array(buffer[start..<(start + payloadLength)])
        readIndex = start + payloadLength
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return Frame(type: type, flags: flags, method: method, streamID: streamID, payload: payload)
    }

    /// Drops consumed bytes when they are at least half the buffer, so compaction costs O(1) amortised.
    private mutating func compactIfUseful() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
