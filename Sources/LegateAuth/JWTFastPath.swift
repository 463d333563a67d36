internal import COpenSSLShims

/// Fast paths for the exact shapes `JWTMinter` emits. Each either returns what the strict scanner would return
/// for that input or nil, and the caller then runs the strict scanner (which also produces the error).
extension JWTVerifier {
    /// The exact header `JWTMinter` emits, up to the `kid` value.
    static let mintedHeaderPrefix: StaticString = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\""

    /// Fast path for the minter's header `{"alg":"HS256","typ":"JWT","kid":"<kid>"}` with a non-empty plain
    /// ASCII kid (no quote, backslash, control or non-ASCII byte): returns the kid. For exactly that shape the
    /// strict scanner accepts with the same kid; any other header returns nil and goes through `parseHeader`.
    @inline(__always)
    static func mintedKeyID(_ bytes: UnsafeRawBufferPointer) -> String? {
        let prefix = Self.mintedHeaderPrefix
        let prefixCount = prefix.utf8CodeUnitCount
        guard bytes.count > prefixCount + 2, let base = bytes.baseAddress,
              legate_memcmp(base, prefix.utf8Start, prefixCount) == 0,
              bytes[bytes.count - 2] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "}")
        else { return nil }
        let kid = UnsafeRawBufferPointer(rebasing: bytes[prefixCount..<(bytes.count - 2)])
        for b in kid where b < 0x20 || b >= 0x80 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            return nil
        }
        return String(decoding: kid, as: UTF8.self)
    }

    /// The minter's claims layout: `{"sub":…,"iss":…,"aud":…,"iat":…[,"nbf":…],"exp":…,"jti":…}` without
    /// whitespace. Values go through the same readers as `parseClaims`; every required claim appears exactly once,
    /// so there are no duplicates or unknown members and the strict parser would return the same claims. Any
    /// deviation or error returns nil.
    static func parseMintedClaims(_ bytes: UnsafeRawBufferPointer, accountID: String, policy: JWTPolicy,
                                  audiences: [String]?) -> JWTClaims?
    {
        var scanner = JSONScanner(bytes, segment: "payload")
        do throws(AuthError) {
            guard scanner.take("{\"sub\":") else { return nil }
            let subject = try Self.subject(&scanner, accountID: accountID)
            guard scanner.take(",\"iss\":") else { return nil }
            let issuer = try Self.issuer(&scanner, policy: policy)
            guard scanner.take(",\"aud\":") else { return nil }
            let audience = try Self.audience(&scanner, policy: policy, audiences: audiences)
            guard scanner.take(",\"iat\":") else { return nil }
            let issuedAt = try Self.integer(&scanner, claim: "iat")
            var notBefore: Int64?
            if scanner.take(",\"nbf\":") { notBefore = try Self.integer(&scanner, claim: "nbf") }
            guard scanner.take(",\"exp\":") else { return nil }
            let expiresAt = try Self.integer(&scanner, claim: "exp")
            guard scanner.take(",\"jti\":") else { return nil }
            let jwtID = try Self.string(&scanner, claim: "jti")
            guard scanner.take("}"), scanner.index == bytes.count else { return nil }
            return JWTClaims(subject: subject, issuer: issuer, audience: audience, issuedAt: issuedAt,
                             notBefore: notBefore, expiresAt: expiresAt, jwtID: jwtID)
        } catch {
            return nil
        }
    }

    /// `sub`; reuses `accountID` when equal (no allocation).
    @inline(__always)
    static func subject(_ scanner: inout JSONScanner, accountID: String) throws(AuthError) -> String {
        guard scanner.atString() else { throw .invalidClaimType(claim: "sub", expected: "a string") }
        return try scanner.readString(reusing: accountID)
    }

    /// `iss`; reuses the policy issuer when equal.
    @inline(__always)
    static func issuer(_ scanner: inout JSONScanner, policy: JWTPolicy) throws(AuthError) -> String {
        guard scanner.atString() else { throw .invalidClaimType(claim: "iss", expected: "a string") }
        return try scanner.readString(reusing: policy.issuer)
    }

    /// `aud`; a lone string equal to the policy audience reuses `audiences` (`[policy.audience]`).
    @inline(__always)
    static func audience(_ scanner: inout JSONScanner, policy: JWTPolicy, audiences: [String]?)
        throws(AuthError) -> [String]
    {
        if scanner.atString() {
            let value = try scanner.readString(reusing: policy.audience)
            return value == policy.audience ? audiences ?? [value] : [value]
        }
        return try Self.audience(&scanner)
    }
}

extension JSONScanner {
    /// Consumes `literal` when the bytes at the cursor are exactly it (no whitespace skipping).
    @inline(__always)
    mutating func take(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard self.bytes.count - self.index >= count, let base = self.bytes.baseAddress,
              legate_memcmp(base + self.index, literal.utf8Start, count) == 0 else { return false }
        self.index += count
        return true
    }
}
