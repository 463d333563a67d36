/// Everything that can go wrong while framing or decoding wire bytes (Proto/FRAMING.md §4).
public enum WireError: Error, Equatable, CustomStringConvertible, Sendable {
    // MARK: Framing
    /// A frame header declared a payload larger than the limit in force.
    case frameTooLarge(declared: UInt32, limit: Int)
    /// A frame header carried a type byte outside 1...10.
    case unknownFrameType(UInt8)
    /// A frame header set reserved flag bits.
    case reservedFlags(UInt8)
    /// The decoder already failed once; it refuses further input.
    case decoderPoisoned

    // MARK: Protobuf
    /// A varint ran past the end of the buffer.
    case truncatedVarint(offset: Int)
    /// A varint was longer than 10 bytes.
    case overlongVarint(offset: Int)
    /// A fixed32/fixed64 field ran past the end of the buffer.
    case truncatedFixed(offset: Int)
    /// A length-delimited field declared more bytes than remain.
    case lengthPastEnd(offset: Int, declared: UInt64, remaining: Int)
    /// A tag used a wire type we refuse (3/4 groups, 6/7 undefined).
    case unsupportedWireType(offset: Int, wireType: UInt8)
    /// A tag had field number 0 or above the protobuf maximum.
    case invalidFieldNumber(offset: Int)
    /// A string field did not hold valid UTF-8.
    case invalidUTF8(offset: Int, field: Int)
    /// Messages nested deeper than the recursion limit.
    case nestingTooDeep(limit: Int)

    /// The gRPC status a peer is told when this error closes the connection.
    public var status: StatusCode {
        switch self {
        case .frameTooLarge: return .resourceExhausted
        case .decoderPoisoned: return .failedPrecondition
        default: return .invalidArgument
        }
    }

    /// A sentence saying what happened, the limit, and what to do.
    public var description: String {
        switch self {
        case .frameTooLarge(let declared, let limit):
            return "frame declares \(declared) payload bytes but the limit in force is \(limit); "
                + "send smaller frames, or authenticate first (the pre-auth limit is \(FrameLimits.maxPreAuthFrameBytes))"
        case .unknownFrameType(let type):
            return "frame type \(type) is unknown (valid types are 1...10); the peer speaks another protocol or version"
        case .reservedFlags(let flags):
            return "frame flags 0x\(String(flags, radix: 16)) set reserved bits (all must be 0); fix the sender"
        case .decoderPoisoned:
            return "the frame decoder already failed on this connection; close it and reconnect"
        case .truncatedVarint(let offset):
            return "varint at byte \(offset) runs past the end of the message; the message is truncated"
        case .overlongVarint(let offset):
            return "varint at byte \(offset) is longer than 10 bytes; the message is corrupt"
        case .truncatedFixed(let offset):
            return "fixed-width field at byte \(offset) runs past the end of the message; the message is truncated"
        case .lengthPastEnd(let offset, let declared, let remaining):
            return "length-delimited field at byte \(offset) declares \(declared) bytes but only \(remaining) remain; "
                + "the message is truncated or corrupt"
        case .unsupportedWireType(let offset, let wireType):
            return "tag at byte \(offset) uses wire type \(wireType), which is not accepted (groups 3/4 and 6/7 are refused)"
        case .invalidFieldNumber(let offset):
            return "tag at byte \(offset) has field number 0 or above 536870911; the message is corrupt"
        case .invalidUTF8(let offset, let field):
            return "string field \(field) at byte \(offset) is not valid UTF-8; send UTF-8 text or use a bytes field"
        case .nestingTooDeep(let limit):
            return "messages nest deeper than \(limit) levels; the message is hostile or corrupt"
        }
    }
}
