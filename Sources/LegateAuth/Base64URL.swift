/// Strict base64url (RFC 4648 §5) without padding, as JWS requires (RFC 7515 §2).
enum Base64URL {
    /// Decoded size of `count` base64url characters, or nil when no valid encoding has that length.
    @inline(__always)
    static func decodedCount(_ count: Int) -> Int? {
        count % 4 == 1 ? nil : count / 4 * 3 + max(0, count % 4 - 1)
    }

    /// 256-entry decode table; 0xff marks a character outside the base64url alphabet.
    static let table: [UInt8] = (0..<256).map { UInt8(truncatingIfNeeded: Self.value(UInt8($0))) }

    /// Four 256-entry tables: entry `k * 256 + c` is `value(c) << (18 - 6k)`, or bit 24 for a bad character.
    static let shifted: [UInt32] = (0..<1024).map { index in
        let v = Self.value(UInt8(truncatingIfNeeded: index & 0xff))
        return v == 0xff ? 0x0100_0000 : v << UInt32(18 - 6 * (index >> 8))
    }

    @inline(__always)
    static func value(_ c: UInt8) -> UInt32 {
        // Branches instead of a global table: no lazy-global check on the hot path. 0xff marks invalid.
        if c >= 0x61 && c <= 0x7a { return UInt32(c) - 71 }
        if c >= 0x41 && c <= 0x5a { return UInt32(c) - 65 }
        if c >= 0x30 && c <= 0x39 { return UInt32(c) + 4 }
        if c == 0x2d { return 62 }
        if c == 0x5f { return 63 }
        return 0xff
    }

    /// Decodes `input` into `out` (room for `decodedCount` + 2 bytes: the fast loop stores 8 bytes per 6 decoded);
    /// returns the byte count.
    /// Rejects padding, characters outside the URL alphabet and non-canonical trailing bits.
    static func decode(_ input: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>, segment: String)
        throws(AuthError) -> Int
    {
        let count = input.count
        guard let total = Self.decodedCount(count) else {
            try Self.fail(input, from: 0, segment: segment)
            throw .invalidBase64URL(segment: segment, offset: count)
        }
        var read = 0
        var written = 0
        if let source = input.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            var bad: UInt32 = 0
            Self.shifted.withUnsafeBufferPointer { shifted in
                guard let q = shifted.baseAddress else { return }
                // 8 characters -> 6 bytes per step: one 64-bit load, 8 lookups in pre-shifted tables (modp_b64
                // style: table k holds value << (18 - 6k), bad characters set bit 24), one 64-bit big-endian
                // store (the two extra bytes land in the caller's slack and are overwritten or unused).
                let raw = UnsafeMutableRawPointer(out)
                var invalid: UInt32 = 0
                while read &+ 8 <= count {
                    let w = UnsafeRawPointer(source).loadUnaligned(fromByteOffset: read, as: UInt64.self)
                    let x0 = q[Int(w & 0xff)] | q[256 | Int((w >> 8) & 0xff)] | q[512 | Int((w >> 16) & 0xff)]
                        | q[768 | Int((w >> 24) & 0xff)]
                    let x1 = q[Int((w >> 32) & 0xff)] | q[256 | Int((w >> 40) & 0xff)]
                        | q[512 | Int((w >> 48) & 0xff)] | q[768 | Int(w >> 56)]
                    invalid |= x0 | x1
                    let bits = (UInt64(x0) << 40) | (UInt64(x1) << 16)
                    raw.storeBytes(of: bits.bigEndian, toByteOffset: written, as: UInt64.self)
                    read &+= 8
                    written &+= 6
                }
                if invalid & 0xff00_0000 != 0 { bad = 0xff }
            }
            Self.table.withUnsafeBufferPointer { table in
                guard let t = table.baseAddress else { return }
                while read + 4 <= count {
                    let a = UInt32(t[Int(source[read])]), b = UInt32(t[Int(source[read + 1])])
                    let c = UInt32(t[Int(source[read + 2])]), d = UInt32(t[Int(source[read + 3])])
                    // Invalid characters map to 0xff; remember and report after the loop.
                    bad |= a | b | c | d
                    let word = (a << 18) | (b << 12) | (c << 6) | d
                    out[written] = UInt8(truncatingIfNeeded: word >> 16)
                    out[written + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    out[written + 2] = UInt8(truncatingIfNeeded: word)
                    read += 4
                    written += 3
                }
            }
            if bad & 0xc0 != 0 { try Self.fail(input, from: 0, segment: segment) }
        }
        let rest = count - read
        if rest > 0 {
            var word: UInt32 = 0
            for index in 0..<rest {
                let v = Self.value(input[read + index])
                if v & 0xc0 != 0 { try Self.fail(input, from: read, segment: segment) }
                word |= v << UInt32(18 - 6 * index)
            }
            // Unused low bits must be zero, so each byte string has exactly one encoding.
            let unusedMask: UInt32 = rest == 2 ? 0xffff : 0xff
            guard word & unusedMask == 0 else { throw .invalidBase64URL(segment: segment, offset: count - 1) }
            out[written] = UInt8(truncatingIfNeeded: word >> 16)
            if rest == 3 { out[written + 1] = UInt8(truncatingIfNeeded: word >> 8) }
            written += rest - 1
        }
        return total == written ? written : 0
    }

    private static func fail(_ input: UnsafeRawBufferPointer, from start: Int, segment: String) throws(AuthError) {
        var index = start
        while index < input.count {
            if input[index] == UInt8(ascii: "=") { throw .base64Padding(segment: segment) }
            if Self.value(input[index]) == 0xff { throw .invalidBase64URL(segment: segment, offset: index) }
            index += 1
        }
        throw .invalidBase64URL(segment: segment, offset: start)
    }

    /// Encodes bytes as base64url without padding.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index < input.count {
            let b0 = UInt32(input[index])
            let b1 = index + 1 < input.count ? UInt32(input[index + 1]) : 0
            let b2 = index + 2 < input.count ? UInt32(input[index + 2]) : 0
            let word = (b0 << 16) | (b1 << 8) | b2
            let chars = min(4, (input.count - index) * 4 / 3 + ((input.count - index) < 3 ? 1 : 0))
            for position in 0..<chars { output.append(table[Int((word >> UInt32(18 - 6 * position)) & 63)]) }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
