import LegateTestSupport
import LegateWire
import Testing

/// Field kinds protogen supports but Proto/legate.proto does not use yet (Generated/Coverage.pb.swift).
@Suite("protogen output for every field kind")
struct GeneratorCoverageTests {
    /// The same value serialised by Python `protobuf` (tools/check_vectors.py checks this hex too).
    static let expectedHex = "0a0401ac0200120bffffffffffffffffff0105190000000000000080220201022a0b08f9ffffffffffffffff01"
        + "3200320208033a020109420201004a08000000000000f83f520052010958016004"

    static var value: AllKinds {
        var all = AllKinds()
        all.nums = [1, 300, 0]
        all.bigs = [-1, 5]
        all.d = -0.0
        all.blob = [1, 2]
        all.inner = Inner(x: -7)
        all.inners = [Inner(), Inner(x: 3)]
        all.colors = [.red, .unrecognized(9)]
        all.flags = [true, false]
        all.ds = [1.5]
        all.blobs = [[], [9]]
        all.color = .red
        all.`protocol` = 4
        return all
    }

    @Test func encodesLikePythonProtobuf() throws {
        let bytes = Self.value.protoBytes()
        #expect(Vectors.hex(bytes) == Self.expectedHex)
        #expect(bytes.count == Self.value.encodedSize)
        let decoded = try AllKinds(protoBytes: bytes)
        #expect(decoded == Self.value)
        #expect(decoded.d.sign == .minus)
    }

    @Test func unpackedRepeatedFieldsDecodeLikePacked() throws {
        // nums unpacked (three varint fields), colors unpacked, flags packed, ds unpacked fixed64.
        let bytes = try Vectors.bytes(hex: "0801" + "08ac02" + "0800" + "3801" + "3809" + "42020100" + "49000000000000f83f")
        let decoded = try AllKinds(protoBytes: bytes)
        #expect(decoded.nums == [1, 300, 0])
        #expect(decoded.colors == [.red, .unrecognized(9)])
        #expect(decoded.flags == [true, false])
        #expect(decoded.ds == [1.5])
    }

    @Test func nestingIsBounded() {
        // Inner has no recursion, but a malformed embedded length must still be refused.
        #expect(throws: WireError.lengthPastEnd(offset: 1, declared: 5, remaining: 1)) {
            try AllKinds(protoBytes: [0x2a, 0x05, 0x08])
        }
    }
}
