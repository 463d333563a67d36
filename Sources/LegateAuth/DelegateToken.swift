/// A delegate token value `lgt_<id>_<secret>_<checksum>`: self-identifying and checksummed.
public struct DelegateToken: Sendable, Equatable, CustomStringConvertible {
    /// Characters of the token id (16 base32 characters, 80 bits).
    public static let idLength = 16
    /// Characters of a generated secret (52 base32 characters = 32 random bytes, 256 bits).
    public static let secretLength = 52
    /// Characters of the checksum (8 base32 characters of SHA-256 over `lgt_<id>_<secret>`).
    public static let checksumLength = 8
    /// Lowercase RFC 4648 base32 alphabet used by every part.
    static let alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// Token id; the JWT `kid`, safe to log.
    public let id: String
    /// The full secret value; never log it.
    public let value: String

    /// A fresh token with a random id and a 256-bit secret from `RAND_bytes`.
    public static func generate() -> DelegateToken {
        Self.generate(id: Self.base32(SecureRandom.bytes(10)))
    }

    /// A fresh 256-bit secret for the given id (16 characters of `a-z2-7`, else `parse` will refuse the value).
    public static func generate(id: String) -> DelegateToken {
        let secret = Self.base32(SecureRandom.bytes(32))
        let body = "lgt_\(id)_\(secret)"
        return DelegateToken(id: id, value: body + "_" + Self.checksum(body))
    }

    /// Parses a value, naming what is wrong (never the secret) when it is mistyped or truncated.
    public static func parse(_ value: String) throws(AuthError) -> DelegateToken {
        let trimmed = value.utf8
        guard trimmed.starts(with: "lgt_".utf8) else { throw .tokenMissingPrefix }
        let parts = trimmed.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw .tokenWrongPartCount(found: parts.count) }
        let names = ["prefix", "id", "secret", "checksum"]
        for index in 1..<4 {
            for (offset, byte) in parts[index].enumerated() where !Self.alphabet.contains(byte) {
                throw .tokenInvalidCharacter(part: names[index], offset: offset)
            }
        }
        guard parts[1].count == Self.idLength else {
            throw .tokenIDLength(found: parts[1].count, expected: Self.idLength)
        }
        guard parts[2].count >= Self.secretLength else {
            throw .tokenSecretTooShort(found: parts[2].count, minimum: Self.secretLength)
        }
        guard parts[3].count == Self.checksumLength else {
            throw .tokenChecksumLength(found: parts[3].count, expected: Self.checksumLength)
        }
        let body = "lgt_" + String(decoding: parts[1], as: UTF8.self) + "_" + String(decoding: parts[2], as: UTF8.self)
        guard ConstantTime.equals(Array(Self.checksum(body).utf8), Array(parts[3])) else {
            throw .tokenChecksumMismatch
        }
        return DelegateToken(id: String(decoding: parts[1], as: UTF8.self), value: value)
    }

    /// `lgt_<id>_****`, the form for logs and listings.
    public var redacted: String { "lgt_\(self.id)_****" }

    /// Redacted, so interpolating a token never leaks it.
    public var description: String { self.redacted }

    /// The HS256 key: the value's UTF-8 bytes.
    public var hmacKey: HMACKey { HMACKey(keyBytes: Array(self.value.utf8)) }

    static func checksum(_ body: String) -> String {
        String(Self.base32(Array(SHA256Digest.hash(body.utf8).prefix(5))).prefix(Self.checksumLength))
    }

    /// Lowercase base32 without padding.
    static func base32(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(Self.alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(Self.alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }
}
