//  Proto/FRAMING.md §1: the 12-byte frame header, big-endian, then `length` payload bytes.
//
//   0               4       5       6               8                              12
//   +---------------+-------+-------+---------------+------------------------------+---------------
//   | length (u32)  | type  | flags | method (u16)  | stream id (u32)              | payload ...
//   +---------------+-------+-------+---------------+------------------------------+---------------

/// The kind of a frame, byte 4 of the header (Proto/FRAMING.md §1.1).
public enum FrameType: UInt8, Sendable, CaseIterable {
    /// Client -> server, first frame: protocol version handshake (payload `Hello`).
    case hello = 1
    /// Server -> client: the server's side of the handshake (payload `HelloAck`).
    case helloAck
    /// A call from the client; `method` is a `CallMethod`, odd stream id.
    case request
    /// The successful answer to a call; echoes its stream id.
    case response
    /// A failed call or, on stream 0, a connection-fatal error (payload `Status`).
    case error
    /// Server -> client push; `method` is a `PushKind`, even stream id.
    case push
    /// Client -> server acknowledgement of a push (payload `PushAck`); echoes its stream id.
    case pushAck
    /// Liveness probe on stream 0; payload up to 8 opaque bytes.
    case ping
    /// Answer to a ping, echoing its payload.
    case pong
    /// Server -> client: drain and reconnect elsewhere (payload `GoAway`).
    case goAway
}

// `CallMethod`, `AdminMethod` and `PushKind` are generated from Proto/legate.proto into Generated/Legate.pb.swift.

extension AdminMethod {
    /// True for the task calls (130...139), which are answered asynchronously by the task service; key ring and
    /// secret calls (140...159) are not.
    public var isTaskCall: Bool { (AdminMethod.taskSubmit.rawValue..<140).contains(self.rawValue) }
}

/// The protocol version this implementation speaks, sent in `Hello` and `HelloAck` (Proto/FRAMING.md §2).
public enum ProtocolVersion {
    /// Version 1, the only one so far.
    public static let current: UInt32 = 1
}

/// One decoded frame: the header fields and its payload bytes.
public struct Frame: Equatable, Sendable {
    /// The frame type (header byte 4).
    public var type: FrameType
    /// Flag bits (header byte 5); all reserved, must be 0.
    public var flags: UInt8
    /// Call method or push kind (header bytes 6-7); 0 for other types.
    public var method: UInt16
    /// The stream (call) id (header bytes 8-11).
    public var streamID: UInt32
    /// The payload, usually an encoded protobuf message.
    public var payload: [UInt8]

    /// A frame with the given header fields and payload.
    public init(type: FrameType, flags: UInt8 = 0, method: UInt16 = 0, streamID: UInt32 = 0, payload: [UInt8] = []) {
        self.type = type
        self.flags = flags
        self.method = method
        self.streamID = streamID
        self.payload = payload
    }
}

/// Frame size limits in bytes; each applies to the header's `length` field (Proto/FRAMING.md §3).
public enum FrameLimits {
    /// Proto/FRAMING.md §1: the fixed header size.
    public static let headerBytes = 12
    /// Proto/FRAMING.md §3: payloads above this are refused until the delegate's JWT is verified.
    public static let maxPreAuthFrameBytes = 16 << 10
    /// Proto/FRAMING.md §3: payloads above this are refused after authentication unless configured otherwise.
    public static let defaultMaxFrameBytes = 1 << 20
    /// Proto/FRAMING.md §3: no configuration may raise the limit beyond this.
    public static let maxFrameBytesCeiling = 16 << 20

    /// The largest payload a peer that announced `announced` (`Hello.max_frame_bytes` or
    /// `HelloAck.max_frame_bytes`; 0 means it did not say: the default) accepts, never above the ceiling.
    public static func peerLimit(announced: UInt32) -> Int {
        announced == 0 ? Self.defaultMaxFrameBytes : min(Int(announced), Self.maxFrameBytesCeiling)
    }
}

/// Writes frames into a byte buffer (Proto/FRAMING.md §1).
///
/// The `limit:` forms refuse a payload above the receiver's limit (and always above the 16 MiB ceiling) instead of
/// writing a frame the peer must treat as fatal; use them for anything whose size the sender does not bound.
public enum FrameEncoder {
    /// Whether a payload of `payloadBytes` fits a receiver whose limit is `limit` (clamped to the ceiling).
    public static func fits(payloadBytes: Int, limit: Int) -> Bool {
        payloadBytes >= 0 && payloadBytes <= min(limit, FrameLimits.maxFrameBytesCeiling)
    }

    /// Appends `frame` if its payload fits `limit` (clamped to the ceiling); otherwise appends nothing and throws
    /// `frameTooLarge`.
    public static func encode(_ frame: Frame, limit: Int, into buffer: inout [UInt8]) throws(WireError) {
        guard Self.fits(payloadBytes: frame.payload.count, limit: limit) else {
            throw .frameTooLarge(
                declared: UInt32(clamping: frame.payload.count), limit: min(limit, FrameLimits.maxFrameBytesCeiling))
        }
        Self.encode(frame, into: &buffer)
    }

    /// Appends a frame carrying `message` if its encoding fits `limit` (clamped to the ceiling); otherwise appends
    /// nothing and throws `frameTooLarge`. The size is known before any byte is written.
    @inlinable
    public static func encode(
        _ type: FrameType, method: UInt16, streamID: UInt32, message: some ProtoMessage, limit: Int,
        into buffer: inout [UInt8]
    ) throws(WireError) {
        let size = message.encodedSize
        guard Self.fits(payloadBytes: size, limit: limit) else {
            throw .frameTooLarge(declared: UInt32(clamping: size), limit: min(limit, FrameLimits.maxFrameBytesCeiling))
        }
        Self.encode(type, method: method, streamID: streamID, message: message, into: &buffer)
    }

    /// Appends the 12-byte header and the payload of `frame` to `buffer`.
    public static func encode(_ frame: Frame, into buffer: inout [UInt8]) {
        buffer.reserveCapacity(buffer.count + FrameLimits.headerBytes + frame.payload.count)
        writeHeader(
            length: UInt32(truncatingIfNeeded: frame.payload.count), type: frame.type, flags: frame.flags,
            method: frame.method, streamID: frame.streamID, into: &buffer)
        buffer.append(contentsOf: frame.payload)
    }

    /// Appends a frame whose payload is `message`, encoded straight into `buffer` with no intermediate array.
    @inlinable
    public static func encode(
        _ type: FrameType, method: UInt16, streamID: UInt32, message: some ProtoMessage, into buffer: inout [UInt8]
    ) {
        let size = message.encodedSize
        buffer.reserveCapacity(buffer.count + FrameLimits.headerBytes + size)
        writeHeader(
            length: UInt32(truncatingIfNeeded: size), type: type, flags: 0, method: method, streamID: streamID,
            into: &buffer)
        var writer = ProtoWriter()
        swap(&writer.bytes, &buffer)
        message.encode(to: &writer)
        swap(&writer.bytes, &buffer)
    }

    @usableFromInline
    static func writeHeader(
        length: UInt32, type: FrameType, flags: UInt8, method: UInt16, streamID: UInt32, into buffer: inout [UInt8]
    ) {
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(type.rawValue)
        buffer.append(flags)
        buffer.append(UInt8(truncatingIfNeeded: method >> 8))
        buffer.append(UInt8(truncatingIfNeeded: method))
        buffer.append(UInt8(truncatingIfNeeded: streamID >> 24))
        buffer.append(UInt8(truncatingIfNeeded: streamID >> 16))
        buffer.append(UInt8(truncatingIfNeeded: streamID >> 8))
        buffer.append(UInt8(truncatingIfNeeded: streamID))
    }
}
