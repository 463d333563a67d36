import LegateCore
import LegateWire
import Testing

/// A test-only message with repeated numeric fields, which Proto/legate.proto does not have yet.
private struct Numbers: ProtoMessage {
    var values: [UInt32] = []
    var big: [Int64] = []

    mutating func decodeField(number: Int, wireType: ProtoWireType, reader: inout ProtoReader) throws(WireError) -> Bool {
        switch number {
        case 1:
            try reader.readRepeated(wireType, element: .varint, into: &values) {
                (reader: inout ProtoReader) throws(WireError) -> UInt32 in UInt32(truncatingIfNeeded: try reader.readVarint())
            }
        case 2:
            try reader.readRepeated(wireType, element: .varint, into: &big) {
                (reader: inout ProtoReader) throws(WireError) -> Int64 in Int64(bitPattern: try reader.readVarint())
            }
        default: return false
        }
        return true
    }

    func encode(to writer: inout ProtoWriter) {
        if !values.isEmpty {
            writer.writeTag(1, .lengthDelimited)
            writer.writeVarint(UInt64(values.reduce(0) { $0 + ProtoWriter.varintSize(UInt64($1)) }))
            for value in values { writer.writeVarint(UInt64(value)) }
        }
        for value in big {
            writer.writeTag(2, .varint)
            writer.writeVarint(ProtoVarint.fromInt64(value))
        }
    }

    var encodedSize: Int {
        var writer = ProtoWriter()
        encode(to: &writer)
        return writer.bytes.count
    }
}

@Suite("Protobuf runtime")
struct ProtoRuntimeTests {
    @Test func packedAndUnpackedRepeatedDecodeAlike() throws {
        let packed: [UInt8] = [0x0a, 0x04, 0x01, 0x96, 0x01, 0x00]
        let unpacked: [UInt8] = [0x08, 0x01, 0x08, 0x96, 0x01, 0x08, 0x00]
        let mixed: [UInt8] = [0x08, 0x01, 0x0a, 0x03, 0x96, 0x01, 0x00]
        let expected = Numbers(values: [1, 150, 0])
        #expect(try Numbers(protoBytes: packed) == expected)
        #expect(try Numbers(protoBytes: unpacked) == expected)
        #expect(try Numbers(protoBytes: mixed) == expected)
        #expect(try Numbers(protoBytes: [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).big == [-1])
        #expect(throws: WireError.truncatedVarint(offset: 2)) { try Numbers(protoBytes: [0x0a, 0x01, 0x96]) }
    }

    @Test(arguments: [UInt64(0), 1, 127, 128, 16383, 16384, UInt64(UInt32.max), UInt64.max >> 1, UInt64.max])
    func varintRoundTrip(_ value: UInt64) throws {
        var writer = ProtoWriter()
        writer.writeVarint(value)
        #expect(writer.bytes.count == ProtoWriter.varintSize(value))
        let decoded = try writer.bytes.withUnsafeBytes { raw -> UInt64 in
            var reader = ProtoReader(raw)
            return try reader.readVarint()
        }
        #expect(decoded == value)
    }

    @Test func fixedWidthRoundTrip() throws {
        var writer = ProtoWriter()
        writer.writeFixed32(0xDEAD_BEEF)
        writer.writeFixed64(0x0123_4567_89AB_CDEF)
        #expect(writer.bytes == [0xef, 0xbe, 0xad, 0xde, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01])
        let decoded = writer.bytes.withUnsafeBytes { raw -> (UInt32, UInt64, Bool)? in
            var reader = ProtoReader(raw)
            do throws(WireError) {
                return (try reader.readFixed32(), try reader.readFixed64(), reader.isAtEnd)
            } catch {
                return nil
            }
        }
        #expect(decoded?.0 == 0xDEAD_BEEF)
        #expect(decoded?.1 == 0x0123_4567_89AB_CDEF)
        #expect(decoded?.2 == true)
    }

    @Test func errorOffsetsPointAtTheFault() {
        #expect(throws: WireError.invalidUTF8(offset: 4, field: 2)) {
            try Status(protoBytes: [0x08, 0x03, 0x12, 0x02, 0x41, 0xff, 0xfe].dropLast())
                == Status()  // not reached
        }
        #expect(throws: WireError.lengthPastEnd(offset: 3, declared: 9, remaining: 1)) {
            try Hello(protoBytes: [0x08, 0x01, 0x1a, 0x09, 0x41])
        }
        #expect(throws: WireError.unsupportedWireType(offset: 2, wireType: 3)) { try Hello(protoBytes: [0x08, 0x01, 0x0b]) }
    }

    @Test func enumsKeepUnknownValuesAndNames() throws {
        #expect(StatusCode(rawValue: 16) == .unauthenticated)
        #expect(StatusCode(rawValue: 3) == .invalidArgument)
        #expect(StatusCode.internal.rawValue == 13)
        #expect(DelegateState(rawValue: 1) == .active)
        #expect(DelegateState(rawValue: 0) == .unspecified)
        let status = Status(code: .unrecognized(77), message: "m")
        #expect(try Status(protoBytes: status.protoBytes()) == status)
    }

    @Test func heartbeatEncodedSizeIsExact() {
        let beat = Heartbeat(jwt: String(repeating: "a", count: 357), delegateID: "d", sequence: .max,
                             runningTasks: 5, freeCapacity: 0)
        #expect(beat.protoBytes().count == beat.encodedSize)
        let request = RegisterRequest(accountID: "a", tags: ["x", "日本"], instanceID: "i", capacity: 3)
        #expect(request.protoBytes().count == request.encodedSize)
    }
}

@Suite("UTF-8 validation agrees with the standard library")
struct UTF8ValidationTests {
    @Test func randomAndEdgeSequences() {
        var rng = SeededJitter(seed: 0x0075_7466_0008)
        let interesting: [UInt8] = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xee, 0xef,
                                    0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90]
        for round in 0..<20_000 {
            let length = Int(rng.next() % 12)
            let bytes = (0..<length).map { _ in
                round % 2 == 0 ? interesting[Int(rng.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: rng.next())
            }
            let expected = String(validating: bytes, as: UTF8.self)
            let message = [0x12, UInt8(length)] + bytes
            switch Result(catching: { () throws(WireError) in try Status(protoBytes: message) }) {
            case .success(let status): #expect(status.message == expected, "bytes \(bytes)")
            case .failure(let error):
                #expect(expected == nil, "bytes \(bytes)")
                #expect(error == .invalidUTF8(offset: 2, field: 2))
            }
        }
    }
}

/// A recursive test-only message, to prove the nesting limit.
private struct Node: ProtoMessage {
    var children: [Node] = []

    mutating func decodeField(number: Int, wireType: ProtoWireType, reader: inout ProtoReader) throws(WireError) -> Bool {
        guard number == 1, wireType == .lengthDelimited else { return false }
        children.append(try reader.readMessage(Node.self))
        return true
    }

    func encode(to writer: inout ProtoWriter) {
        for child in children {
            writer.writeTag(1, .lengthDelimited)
            writer.writeMessage(child)
        }
    }

    var encodedSize: Int {
        children.reduce(0) { $0 + ProtoWriter.tagSize(1) + ProtoWriter.lengthDelimitedSize($1.encodedSize) }
    }

    static func chain(depth: Int) -> Node {
        var node = Node()
        for _ in 0..<depth { node = Node(children: [node]) }
        return node
    }
}

@Suite("Embedded message nesting limit")
struct NestingTests {
    @Test func atTheLimitDecodes() throws {
        let chain = Node.chain(depth: ProtoReader.maxDepth)
        #expect(try Node(protoBytes: chain.protoBytes()) == chain)
    }

    @Test func aboveTheLimitIsRefused() {
        let bytes = Node.chain(depth: ProtoReader.maxDepth + 1).protoBytes()
        #expect(throws: WireError.nestingTooDeep(limit: 64)) { try Node(protoBytes: bytes) }
        #expect(WireError.nestingTooDeep(limit: 64).status == .invalidArgument)
    }
}
