internal import COpenSSLShims

/// The uncached HS256 verification pipeline: bound, split, header, HMAC, then claims.
enum JWTVerifier {
    /// Verifies one JWS compact token held in `token` against `policy` at `now` (Unix seconds).
    /// `audiences`, when given, is `[policy.audience]` built once by the caller and returned for the usual
    /// single-audience token instead of a fresh array.
    static func verify(_ token: UnsafeRawBufferPointer, now: Int64, policy: JWTPolicy, resolver: any JWTKeyResolver,
                       audiences: [String]? = nil) throws(AuthError) -> VerifiedJWT
    {
        guard token.count <= policy.maxTokenBytes else {
            throw .jwtTooLarge(bytes: token.count, limit: policy.maxTokenBytes)
        }
        // Find the first dot forwards and the last one backwards; a dot in between makes the payload fail
        // base64url decoding, and only then are the dots counted to report the segment count.
        guard let start = token.baseAddress else { throw .wrongSegmentCount(found: 1) }
        let firstDot = legate_memchr(start, 0x2e, token.count).map { start.distance(to: UnsafeRawPointer($0)) } ?? token.count
        var secondDot = token.count - 1
        while secondDot > firstDot, start.load(fromByteOffset: secondDot, as: UInt8.self) != 0x2e { secondDot -= 1 }
        guard firstDot < token.count, secondDot > firstDot else {
            throw .wrongSegmentCount(found: firstDot < token.count ? 2 : 1)
        }
        let headerText = UnsafeRawBufferPointer(rebasing: token[0..<firstDot])
        let payloadText = UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot])
        let signatureText = UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...])
        let signingInput = UnsafeRawBufferPointer(rebasing: token[0..<secondDot])
        let scratchBytes = token.count + 72
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scratchBytes) {
            scratch throws(AuthError) -> VerifiedJWT in
            guard let base = scratch.baseAddress else { throw AuthError.wrongSegmentCount(found: 0) }
            // Layout: [0, 32) signature, [32, 64) computed MAC, [64, ...) header then payload.
            // The payload is base64url-decoded first (bounded, not interpreted) so a stray dot is reported as a
            // segment count; its JSON is parsed only after the HMAC matched.
            let payloadStart = base + 64 + (Base64URL.decodedCount(headerText.count) ?? 0) + 3
            let payloadCount: Int
            do throws(AuthError) {
                payloadCount = try Base64URL.decode(payloadText, into: payloadStart, segment: "payload")
            } catch {
                let dots = payloadText.reduce(0) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }
                throw dots > 0 ? AuthError.wrongSegmentCount(found: dots + 3) : error
            }
            let headerCount = try Base64URL.decode(headerText, into: base + 64, segment: "header")
            let headerBytes = UnsafeRawBufferPointer(start: base + 64, count: headerCount)
            let keyID: String
            if let minted = Self.mintedKeyID(headerBytes) {
                keyID = minted
            } else {
                keyID = try Self.parseHeader(headerBytes)
            }
            let signatureCount = try Self.decodeSignature(signatureText, into: base)
            guard signatureCount == 32 else { throw AuthError.invalidSignatureLength(found: signatureCount) }
            guard let resolved = resolver.resolveKey(keyID: Substring(keyID)) else {
                throw AuthError.unknownKeyID(AuthError.clip(keyID.utf8))
            }
            resolved.key.authenticate(signingInput, into: base + 32)
            guard ConstantTime.equals(UnsafeRawBufferPointer(start: base, count: 32),
                                      UnsafeRawBufferPointer(start: base + 32, count: 32))
            else { throw AuthError.signatureMismatch }
            let payload = UnsafeRawBufferPointer(start: payloadStart, count: payloadCount)
            let claims: JWTClaims
            var exact = ExactDates()
            if let minted = Self.parseMintedClaims(payload, accountID: resolved.accountID, policy: policy,
                                                   audiences: audiences) {
                claims = minted
            } else {
                claims = try Self.parseClaims(payload, accountID: resolved.accountID, policy: policy,
                                              audiences: audiences, exact: &exact)
            }
            try Self.check(claims, exact: exact, now: now, policy: policy, accountID: resolved.accountID)
            return VerifiedJWT(keyID: keyID, claims: claims)
        }
    }

    private static func decodeSignature(_ text: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>)
        throws(AuthError) -> Int
    {
        // Bound before decoding so an oversize signature never overruns the 32-byte slot.
        guard text.count == 43 else {
            if text.contains(UInt8(ascii: "=")) { throw .base64Padding(segment: "signature") }
            throw .invalidSignatureLength(found: Base64URL.decodedCount(text.count) ?? text.count * 3 / 4)
        }
        return try Base64URL.decode(text, into: out, segment: "signature")
    }

    /// Checks the JOSE header; returns the `kid`.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer) throws(AuthError) -> String {
        var scanner = JSONScanner(bytes, segment: "header")
        try scanner.beginObject()
        var algorithmText: String?
        var keyID: String?
        var typ: String?
        var hasCrit = false
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: JSONScanner.maxMembers) {
            ranges throws(AuthError) in
            var seen = SeenKeys(ranges: ranges)
            var first = true
            while let key = try scanner.nextKey(first: first) {
                first = false
                // Known members are checked for repeats by their slot; only unknown names go through `seen`.
                if scanner.matches(key, "alg") {
                    algorithmText = try Self.readUniqueHeaderString(&scanner, "alg", seen: algorithmText != nil)
                } else if scanner.matches(key, "kid") {
                    keyID = try Self.readUniqueHeaderString(&scanner, "kid", seen: keyID != nil)
                } else if scanner.matches(key, "typ") {
                    typ = try Self.readUniqueHeaderString(&scanner, "typ", seen: typ != nil)
                } else {
                    try seen.insert(key, scanner: scanner)
                    if scanner.matches(key, "crit") { hasCrit = true }
                    try scanner.skipValue()
                }
            }
        }
        try scanner.end()
        guard let algorithmText else { throw .missingAlgorithm }
        guard algorithmText == "HS256" else { throw .algorithmNotAllowed(AuthError.clip(algorithmText.utf8)) }
        if let typ, typ != "JWT" { throw .unsupportedType(AuthError.clip(typ.utf8)) }
        if hasCrit { throw .criticalHeaderUnsupported }
        guard let keyID, !keyID.isEmpty else { throw .missingKeyID }
        return keyID
    }

    /// Reads a header member that must be a string and appear once (RFC 7515 §4: no duplicate names).
    private static func readUniqueHeaderString(_ scanner: inout JSONScanner, _ name: String, seen: Bool)
        throws(AuthError) -> String
    {
        if seen { throw AuthError.duplicateKey(segment: "header", key: name) }
        guard scanner.atString() else { throw AuthError.invalidHeaderType(member: name, expected: "a string") }
        return try scanner.readString()
    }

    /// Decodes the claims set; only called after the signature matched.
    static func parseClaims(_ bytes: UnsafeRawBufferPointer, accountID: String, policy: JWTPolicy,
                            audiences: [String]?) throws(AuthError) -> JWTClaims
    {
        var exact = ExactDates()
        return try Self.parseClaims(bytes, accountID: accountID, policy: policy, audiences: audiences, exact: &exact)
    }

    /// Decodes the claims set, with `iat` and `exp` to the nanosecond in `exact` (the claims hold them rounded
    /// up to whole seconds). Strings equal to the resolved account, the policy issuer or audience reuse those.
    static func parseClaims(_ bytes: UnsafeRawBufferPointer, accountID: String, policy: JWTPolicy,
                            audiences: [String]?, exact: inout ExactDates) throws(AuthError) -> JWTClaims
    {
        var scanner = JSONScanner(bytes, segment: "payload")
        try scanner.beginObject()
        var subject: String?, issuer: String?, jwtID: String?, audience: [String]?
        var issuedAt: NumericDate?, notBefore: NumericDate?, expiresAt: NumericDate?
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: JSONScanner.maxMembers) {
            ranges throws(AuthError) in
            var seen = SeenKeys(ranges: ranges)
            var first = true
            while let key = try scanner.nextKey(first: first) {
                first = false
                if scanner.matches(key, "sub") {
                    if subject != nil { throw AuthError.duplicateKey(segment: "payload", key: "sub") }
                    subject = try Self.subject(&scanner, accountID: accountID)
                } else if scanner.matches(key, "iss") {
                    if issuer != nil { throw AuthError.duplicateKey(segment: "payload", key: "iss") }
                    issuer = try Self.issuer(&scanner, policy: policy)
                } else if scanner.matches(key, "jti") {
                    if jwtID != nil { throw AuthError.duplicateKey(segment: "payload", key: "jti") }
                    jwtID = try Self.string(&scanner, claim: "jti")
                } else if scanner.matches(key, "aud") {
                    if audience != nil { throw AuthError.duplicateKey(segment: "payload", key: "aud") }
                    audience = try Self.audience(&scanner, policy: policy, audiences: audiences)
                } else if scanner.matches(key, "iat") {
                    if issuedAt != nil { throw AuthError.duplicateKey(segment: "payload", key: "iat") }
                    issuedAt = try Self.numericDate(&scanner, claim: "iat")
                } else if scanner.matches(key, "nbf") {
                    if notBefore != nil { throw AuthError.duplicateKey(segment: "payload", key: "nbf") }
                    notBefore = try Self.numericDate(&scanner, claim: "nbf")
                } else if scanner.matches(key, "exp") {
                    if expiresAt != nil { throw AuthError.duplicateKey(segment: "payload", key: "exp") }
                    expiresAt = try Self.numericDate(&scanner, claim: "exp")
                } else {
                    try seen.insert(key, scanner: scanner)
                    try scanner.skipValue()
                }
            }
        }
        try scanner.end()
        guard let expiresAt else { throw .missingClaim("exp") }
        guard let issuedAt else { throw .missingClaim("iat") }
        guard let subject else { throw .missingClaim("sub") }
        guard let issuer else { throw .missingClaim("iss") }
        guard let audience else { throw .missingClaim("aud") }
        guard let jwtID else { throw .missingClaim("jti") }
        exact = ExactDates(issuedAt: issuedAt, expiresAt: expiresAt)
        return JWTClaims(subject: subject, issuer: issuer, audience: audience,
                         issuedAt: issuedAt.wholeSecondsRoundedUp, notBefore: notBefore?.wholeSecondsRoundedUp,
                         expiresAt: expiresAt.wholeSecondsRoundedUp, jwtID: jwtID)
    }

    static func string(_ scanner: inout JSONScanner, claim: String) throws(AuthError) -> String {
        guard scanner.atString() else { throw .invalidClaimType(claim: claim, expected: "a string") }
        return try scanner.readString()
    }

    /// A NumericDate claim: any JSON number (RFC 7519 §2), e.g. `1700000000.5`.
    static func numericDate(_ scanner: inout JSONScanner, claim: String) throws(AuthError) -> NumericDate {
        guard let value = try scanner.readNumericDate() else {
            throw .invalidClaimType(claim: claim, expected: "a NumericDate (a JSON number)")
        }
        return value
    }

    /// An integer NumericDate, as the minter writes them (the fast path; anything else goes the strict way).
    static func integer(_ scanner: inout JSONScanner, claim: String) throws(AuthError) -> Int64 {
        guard let value = try scanner.readInteger() else {
            throw .invalidClaimType(claim: claim, expected: "an integer NumericDate")
        }
        return value
    }

    static func audience(_ scanner: inout JSONScanner) throws(AuthError) -> [String] {
        if scanner.atString() { return [try scanner.readString()] }
        guard scanner.peek() == UInt8(ascii: "[") else {
            throw .invalidClaimType(claim: "aud", expected: "a string or an array of strings")
        }
        scanner.index += 1
        var values: [String] = []
        if scanner.peek() == UInt8(ascii: "]") {
            scanner.index += 1
            return values
        }
        while true {
            guard scanner.atString() else {
                throw .invalidClaimType(claim: "aud", expected: "a string or an array of strings")
            }
            values.append(try scanner.readString())
            guard values.count <= JSONScanner.maxMembers else { throw scanner.fail("too many audiences") }
            guard let next = scanner.peek() else { throw scanner.fail("unterminated array") }
            scanner.index += 1
            if next == UInt8(ascii: "]") { return values }
            guard next == UInt8(ascii: ",") else { throw scanner.fail("expected ',' or ']'") }
        }
    }

    /// Claim checks against `now` with the policy's leeway (RFC 7519 §4.1.4-§4.1.6).
    /// `exact` holds `iat` and `exp` to the nanosecond when they were not whole seconds; the lifetime is checked
    /// on them, every other bound on the claims' whole seconds (rounded up, which compares exactly with `now`).
    static func check(_ claims: JWTClaims, exact: ExactDates = ExactDates(), now: Int64, policy: JWTPolicy,
                      accountID: String) throws(AuthError)
    {
        let leeway = policy.leewaySeconds
        guard now < claims.expiresAt &+ leeway else {
            throw .expired(expiresAt: claims.expiresAt, now: now, leeway: leeway)
        }
        if let nbf = claims.notBefore, nbf > now &+ leeway {
            throw .notYetValid(notBefore: nbf, now: now, leeway: leeway)
        }
        guard claims.issuedAt <= now &+ leeway else {
            throw .issuedInFuture(issuedAt: claims.issuedAt, now: now, leeway: leeway)
        }
        let expiresAt = exact.expiresAt ?? NumericDate(seconds: claims.expiresAt, nanoseconds: 0)
        let issuedAt = exact.issuedAt ?? NumericDate(seconds: claims.issuedAt, nanoseconds: 0)
        let lifetime = expiresAt.distance(from: issuedAt, within: policy.maxLifetimeSeconds)
        guard lifetime.isPositive, lifetime.isWithin else {
            throw .invalidLifetime(seconds: lifetime.roundedUp, limit: policy.maxLifetimeSeconds)
        }
        guard claims.audience.contains(policy.audience) else { throw .audienceMismatch(expected: policy.audience) }
        if let issuer = policy.issuer, claims.issuer != issuer { throw .issuerMismatch(expected: issuer) }
        if policy.requireSubjectMatch && claims.subject != accountID { throw .subjectMismatch }
        guard !claims.jwtID.isEmpty else { throw .emptyJWTID }
    }
}

/// `iat` and `exp` to the nanosecond, from the strict claims parser (nil: take the claims' whole seconds).
struct ExactDates {
    var issuedAt: NumericDate?
    var expiresAt: NumericDate?
}
