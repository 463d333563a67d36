/// Reads protobuf wire-format values from a borrowed buffer (`read*` advances, returns or throws, never traps).
///
/// Valid only while the buffer it was made from is alive; `ProtoMessage.init(protoBytes:)` scopes it.
public struct ProtoReader {
    /// Embedded messages deeper than this are refused.
    public static let maxDepth = 64

    private let buffer: UnsafeRawBufferPointer
    private var index: Int
    private let base: Int
    private let depth: Int

    /// A reader over `buffer`; `baseOffset` is added to offsets reported in errors.
    public init(_ buffer: UnsafeRawBufferPointer, baseOffset: Int = 0, depth: Int = 0) {
        self.buffer = buffer
        self.index = 0
        self.base = baseOffset
        self.depth = depth
    }

    /// The offset of the next byte, counted from the outermost message's first byte.
    public var offset: Int { base + index }

    /// True when every byte has been read.
    public var isAtEnd: Bool { index >= buffer.count }

    /// Reads a varint of up to 10 bytes.
    public mutating func readVarint() throws(WireError) -> UInt64 {
        let start = index
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < buffer.count else { throw .truncatedVarint(offset: base + start) }
            guard index - start < 10 else { throw .overlongVarint(offset: base + start) }
            let byte = buffer[index]
            index += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Reads the next tag, or nil at the end of the message.
    public mutating func readTag() throws(WireError) -> (Int, ProtoWireType)? {
        guard index < buffer.count else { return nil }
        let start = base + index
        let key = try readVarint()
        let number = key >> 3
        guard number > 0, number <= 536_870_911 else { throw .invalidFieldNumber(offset: start) }
        let raw = UInt8(truncatingIfNeeded: key & 7)
        guard let wireType = ProtoWireType(rawValue: raw) else {
            throw .unsupportedWireType(offset: start, wireType: raw)
        }
        return (Int(number), wireType)
    }

    /// Reads a little-endian fixed32.
    public mutating func readFixed32() throws(WireError) -> UInt32 {
        guard buffer.count - index >= 4 else { throw .truncatedFixed(offset: base + index) }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(buffer[index + i]) << UInt32(8 * i) }
        index += 4
        return value
    }

    /// Reads a little-endian fixed64.
    public mutating func readFixed64() throws(WireError) -> UInt64 {
        guard buffer.count - index >= 8 else { throw .truncatedFixed(offset: base + index) }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(buffer[index + i]) << UInt64(8 * i) }
        index += 8
        return value
    }

    /// Reads a length prefix and returns a reader over exactly that many following bytes.
    public mutating func readLengthDelimited() throws(WireError) -> ProtoReader {
        let start = base + index
        let length = try readVarint()
        let remaining = buffer.count - index
        guard let count = Int(exactly: length), count <= remaining else {
            throw .lengthPastEnd(offset: start, declared: length, remaining: remaining)
        }
        let slice = UnsafeRawBufferPointer(rebasing: buffer[index..<(index + count)])
        let sub = ProtoReader(slice, baseOffset: base + index, depth: depth)
        index += count
        return sub
    }

    /// Reads a length-delimited byte string.
    public mutating func readBytes() throws(WireError) -> [UInt8] {
        let sub = try readLengthDelimited()
        return Array(sub.buffer)
    }

    /// Reads a length-delimited string, refusing invalid UTF-8.
    public mutating func readString(field: Int) throws(WireError) -> String {
        let sub = try readLengthDelimited()
        let bytes = sub.buffer.withMemoryRebound(to: UInt8.self) { $0 }
        // Our own check (ASCII fast path) then the stdlib's specialised decoder: String(validating:) goes
        // through unspecialised generic code and costs several times more on a 357-byte JWT.
        guard UTF8Check.isValid(bytes) else { throw .invalidUTF8(offset: sub.base, field: field) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads an embedded message.
    public mutating func readMessage<M: ProtoMessage>(_ type: M.Type) throws(WireError) -> M {
        var sub = try readLengthDelimited()
        guard depth < Self.maxDepth else { throw .nestingTooDeep(limit: Self.maxDepth) }
        sub = ProtoReader(sub.buffer, baseOffset: sub.base, depth: depth + 1)
        return try M(reader: &sub)
    }

    /// Skips a field of the given wire type.
    public mutating func skip(_ wireType: ProtoWireType) throws(WireError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed32: _ = try readFixed32()
        }
    }

    /// Reads one repeated numeric field element (unpacked) or a packed run, appending to `values`.
    public mutating func readRepeated<T>(
        _ wireType: ProtoWireType, element: ProtoWireType, into values: inout [T],
        _ read: (inout ProtoReader) throws(WireError) -> T
    ) throws(WireError) {
        if wireType == .lengthDelimited {
            var sub = try readLengthDelimited()
            while !sub.isAtEnd { values.append(try read(&sub)) }
        } else if wireType == element {
            values.append(try read(&self))
        } else {
            try skip(wireType)
        }
    }
}
