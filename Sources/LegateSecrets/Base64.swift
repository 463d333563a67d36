/// Base64 encoding (RFC 4648) in both alphabets, for fingerprints and for the masker's encoded patterns.
enum Base64 {
    /// The two RFC 4648 alphabets.
    enum Alphabet {
        /// `A-Z a-z 0-9 + /` (RFC 4648 §4).
        case standard
        /// `A-Z a-z 0-9 - _` (RFC 4648 §5).
        case url

        /// The 64 characters as bytes.
        var table: [UInt8] {
            let common = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
            switch self {
            case .standard: return common + Array("+/".utf8)
            case .url: return common + Array("-_".utf8)
            }
        }
    }

    /// The encoding of `bytes`, with or without `=` padding, as bytes.
    static func encodeBytes(_ bytes: [UInt8], alphabet: Alphabet, padding: Bool) -> [UInt8] {
        let table = alphabet.table
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in stride(from: 18, through: 0, by: -6) { out.append(table[Int((group >> UInt32(shift)) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let second = rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0
            let group = UInt32(bytes[index]) << 16 | second
            out.append(table[Int((group >> 18) & 63)])
            out.append(table[Int((group >> 12) & 63)])
            if rest == 2 { out.append(table[Int((group >> 6) & 63)]) }
            if padding { out.append(contentsOf: [UInt8](repeating: UInt8(ascii: "="), count: 3 - rest)) }
        }
        return out
    }

    /// The encoding of `bytes` as a string.
    static func encode(_ bytes: [UInt8], alphabet: Alphabet, padding: Bool) -> String {
        String(decoding: encodeBytes(bytes, alphabet: alphabet, padding: padding), as: UTF8.self)
    }
}
