/// The protobuf wire types (Proto/FRAMING.md §5); 3/4 (groups) and 6/7 are refused by `ProtoReader`.
public enum ProtoWireType: UInt8, Sendable {
    /// int32, int64, uint32, uint64, bool, enum.
    case varint = 0
    /// fixed64, sfixed64, double.
    case fixed64 = 1
    /// string, bytes, embedded messages, packed repeated fields.
    case lengthDelimited = 2
    /// fixed32, sfixed32, float.
    case fixed32 = 5
}

/// A message in the protobuf wire format, encoded and decoded by our own runtime.
public protocol ProtoMessage: Sendable, Equatable {
    /// The message with every field at its proto3 default.
    init()
    /// Decodes one field the reader has just read the tag of; returns false if the field is unknown.
    mutating func decodeField(number: Int, wireType: ProtoWireType, reader: inout ProtoReader) throws(WireError) -> Bool
    /// Appends the canonical encoding (defaults omitted, numeric repeated fields packed) to `writer`.
    func encode(to writer: inout ProtoWriter)
    /// The exact number of bytes `encode(to:)` appends.
    var encodedSize: Int { get }
}

extension ProtoMessage {
    /// Decodes a message from its wire bytes; unknown fields are skipped.
    @inlinable
    public init(protoBytes bytes: some Collection<UInt8>) throws(WireError) {
        let result = bytes.withContiguousStorageIfAvailable { buffer -> Result<Self, WireError> in
            Self.decodeResult(UnsafeRawBufferPointer(buffer))
        }
        if let result {
            self = try result.get()
        } else {
            let copy = Array(bytes)
            self = try copy.withUnsafeBytes { Self.decodeResult($0) }.get()
        }
    }

    /// Decodes a message from raw bytes; unknown fields are skipped.
    @inlinable
    public init(protoBytes bytes: UnsafeRawBufferPointer) throws(WireError) {
        self = try Self.decodeResult(bytes).get()
    }

    /// Decodes a message from the reader's remaining bytes (used for embedded messages).
    @inlinable
    public init(reader: inout ProtoReader) throws(WireError) {
        self.init()
        while let (number, wireType) = try reader.readTag() {
            if try !decodeField(number: number, wireType: wireType, reader: &reader) {
                try reader.skip(wireType)
            }
        }
    }

    /// The canonical wire bytes of this message.
    @inlinable
    public func protoBytes() -> [UInt8] {
        var writer = ProtoWriter()
        writer.bytes.reserveCapacity(encodedSize)
        encode(to: &writer)
        return writer.bytes
    }

    @usableFromInline
    static func decodeResult(_ buffer: UnsafeRawBufferPointer) -> Result<Self, WireError> {
        var reader = ProtoReader(buffer)
        do throws(WireError) {
            return .success(try Self(reader: &reader))
        } catch {
            return .failure(error)
        }
    }
}

/// Appends protobuf wire-format values to a byte array (`write*` appends, as in `ByteBuffer`).
public struct ProtoWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8] = []

    /// An empty writer.
    public init() {}

    /// Appends a base-128 varint.
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    /// Appends a field tag.
    public mutating func writeTag(_ number: Int, _ wireType: ProtoWireType) {
        writeVarint(UInt64(truncatingIfNeeded: number) << 3 | UInt64(wireType.rawValue))
    }

    /// Appends a little-endian fixed32.
    public mutating func writeFixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// Appends a little-endian fixed64.
    public mutating func writeFixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// Appends a length prefix and the bytes.
    public mutating func writeLengthDelimited(_ value: some Collection<UInt8>) {
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Appends a length prefix and the UTF-8 of `value`.
    public mutating func writeString(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends an embedded message with its length prefix.
    public mutating func writeMessage(_ message: some ProtoMessage) {
        writeVarint(UInt64(message.encodedSize))
        message.encode(to: &self)
    }

    /// The size of `value` as a varint.
    public static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// The size of a tag for `number`.
    public static func tagSize(_ number: Int) -> Int {
        varintSize(UInt64(truncatingIfNeeded: number) << 3)
    }

    /// The size of a length-delimited field body of `count` bytes including its length prefix.
    public static func lengthDelimitedSize(_ count: Int) -> Int {
        varintSize(UInt64(count)) + count
    }
}

/// Protobuf varint encodings of the signed and enum scalar types.
public enum ProtoVarint {
    /// int32/enum: negative values sign-extend to 10 bytes, as protobuf specifies.
    @inlinable public static func fromInt32(_ value: Int32) -> UInt64 { UInt64(bitPattern: Int64(value)) }
    /// int64 as its two's complement bit pattern.
    @inlinable public static func fromInt64(_ value: Int64) -> UInt64 { UInt64(bitPattern: value) }
}
