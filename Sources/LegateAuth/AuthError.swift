/// Every way LegateAuth rejects a token, JWT, key or sealed secret; messages never contain secret material.
public enum AuthError: Error, Equatable, CustomStringConvertible {
    // MARK: - Delegate token value format
    /// The value does not start with `lgt_`.
    case tokenMissingPrefix
    /// The value does not have the four `_`-separated parts `lgt`, id, secret, checksum.
    case tokenWrongPartCount(found: Int)
    /// A part holds a character outside the lowercase base32 alphabet `a-z2-7`.
    case tokenInvalidCharacter(part: String, offset: Int)
    /// The token id has the wrong length.
    case tokenIDLength(found: Int, expected: Int)
    /// The secret part is shorter than 256 bits of entropy allow.
    case tokenSecretTooShort(found: Int, minimum: Int)
    /// The checksum part has the wrong length.
    case tokenChecksumLength(found: Int, expected: Int)
    /// The checksum does not match the id and secret: the value was mistyped or truncated.
    case tokenChecksumMismatch

    // MARK: - JWT structure (RFC 7515 §7.1)
    /// The JWT exceeds `JWTPolicy.maxTokenBytes`; checked before any other work.
    case jwtTooLarge(bytes: Int, limit: Int)
    /// A JWS compact serialisation has exactly three segments separated by two dots.
    case wrongSegmentCount(found: Int)
    /// A segment contains `=` padding, which RFC 7515 §2 forbids.
    case base64Padding(segment: String)
    /// A segment contains a character outside the base64url alphabet, or has an impossible length.
    case invalidBase64URL(segment: String, offset: Int)
    /// The decoded header or payload is not a JSON object.
    case notAnObject(segment: String)
    /// The JSON of a segment is malformed.
    case malformedJSON(segment: String, offset: Int, reason: String)
    /// A JSON object repeats a member name (RFC 7515 §4, RFC 7519 §4).
    case duplicateKey(segment: String, key: String)
    /// JSON nesting goes deeper than the limit.
    case nestingTooDeep(segment: String, limit: Int)

    // MARK: - JOSE header
    /// The header has no `alg`.
    case missingAlgorithm
    /// The header's `alg` is not the allowed `HS256`.
    case algorithmNotAllowed(String)
    /// The header's `typ` is present and not `JWT`.
    case unsupportedType(String)
    /// The header has no `kid`, or it is empty.
    case missingKeyID
    /// The header carries `crit`; no extension is understood.
    case criticalHeaderUnsupported
    /// A header member has the wrong JSON type.
    case invalidHeaderType(member: String, expected: String)
    /// No key is known for the `kid` (unknown, revoked or deleted token).
    case unknownKeyID(String)
    /// The signature does not decode to the 32 bytes of an HMAC-SHA256.
    case invalidSignatureLength(found: Int)
    /// The HMAC does not match.
    case signatureMismatch

    // MARK: - Claims (RFC 7519 §4.1)
    /// A required claim is absent.
    case missingClaim(String)
    /// A claim has the wrong JSON type.
    case invalidClaimType(claim: String, expected: String)
    /// `exp` is in the past beyond the leeway.
    case expired(expiresAt: Int64, now: Int64, leeway: Int64)
    /// `nbf` is in the future beyond the leeway.
    case notYetValid(notBefore: Int64, now: Int64, leeway: Int64)
    /// `iat` is in the future beyond the leeway.
    case issuedInFuture(issuedAt: Int64, now: Int64, leeway: Int64)
    /// `exp - iat` is not in `1...maxLifetimeSeconds`.
    case invalidLifetime(seconds: Int64, limit: Int64)
    /// `aud` does not contain the expected audience.
    case audienceMismatch(expected: String)
    /// `iss` is not the expected issuer.
    case issuerMismatch(expected: String)
    /// `sub` is not the account that owns the key.
    case subjectMismatch
    /// `jti` is empty.
    case emptyJWTID
    /// A registration `jti` was already seen within its lifetime.
    case replayedJWTID

    // MARK: - Secrets at rest
    /// A master key must be 32 bytes (AES-256).
    case invalidMasterKeyLength(found: Int)
    /// A sealed box is shorter than nonce plus tag.
    case sealedBoxTooShort(found: Int, minimum: Int)
    /// Authentication of a sealed box failed: wrong key, wrong associated data, or tampered bytes.
    case decryptionFailed

    /// Human-readable reason: what happened, the limit, and the fix.
    public var description: String {
        switch self {
        case .tokenMissingPrefix:
            return "token value does not start with 'lgt_'; copy the whole value as shown when it was created"
        case .tokenWrongPartCount(let found):
            return "token value has \(found) '_'-separated parts, expected 4 (lgt_<id>_<secret>_<checksum>); it may be truncated"
        case .tokenInvalidCharacter(let part, let offset):
            return "token \(part) has an invalid character at offset \(offset) (allowed: a-z, 2-7); the value was mistyped"
        case .tokenIDLength(let found, let expected):
            return "token id has \(found) characters, expected \(expected); the value was mistyped or truncated"
        case .tokenSecretTooShort(let found, let minimum):
            return "token secret has \(found) characters, at least \(minimum) are required; the value is truncated"
        case .tokenChecksumLength(let found, let expected):
            return "token checksum has \(found) characters, expected \(expected); the value is truncated"
        case .tokenChecksumMismatch:
            return "token checksum does not match its id and secret; the value was mistyped or truncated"
        case .jwtTooLarge(let bytes, let limit):
            return "JWT of \(bytes) bytes exceeds maxTokenBytes \(limit); mint a smaller token"
        case .wrongSegmentCount(let found):
            return "JWT has \(found) segments, expected 3 (header.payload.signature)"
        case .base64Padding(let segment):
            return "JWT \(segment) uses '=' padding, which base64url in JWS forbids; strip the padding"
        case .invalidBase64URL(let segment, let offset):
            return "JWT \(segment) is not valid base64url at offset \(offset); use the URL-safe alphabet without padding"
        case .notAnObject(let segment):
            return "JWT \(segment) is not a JSON object"
        case .malformedJSON(let segment, let offset, let reason):
            return "JWT \(segment) JSON is malformed at offset \(offset): \(reason)"
        case .duplicateKey(let segment, let key):
            return "JWT \(segment) repeats member '\(key)'; each name may appear once"
        case .nestingTooDeep(let segment, let limit):
            return "JWT \(segment) JSON nests deeper than \(limit) levels"
        case .missingAlgorithm:
            return "JWT header has no 'alg'; expected HS256"
        case .algorithmNotAllowed(let alg):
            return "JWT algorithm '\(alg)' is not allowed; only HS256 is accepted"
        case .unsupportedType(let typ):
            return "JWT header 'typ' is '\(typ)', expected 'JWT' or absent"
        case .missingKeyID:
            return "JWT header has no 'kid'; it must name the delegate token id"
        case .criticalHeaderUnsupported:
            return "JWT header has 'crit' extensions, none of which are supported; remove 'crit'"
        case .invalidHeaderType(let member, let expected):
            return "JWT header '\(member)' must be \(expected)"
        case .unknownKeyID(let kid):
            return "JWT key id '\(kid)' is unknown, revoked or deleted; create a new delegate token"
        case .invalidSignatureLength(let found):
            return "JWT signature is \(found) bytes, HS256 needs 32"
        case .signatureMismatch:
            return "JWT signature does not match; the token was altered or signed with another key"
        case .missingClaim(let claim):
            return "JWT has no '\(claim)' claim, which is required"
        case .invalidClaimType(let claim, let expected):
            return "JWT claim '\(claim)' must be \(expected)"
        case .expired(let exp, let now, let leeway):
            return "JWT expired at \(exp) (now \(now), leeway \(leeway) s); mint a new one"
        case .notYetValid(let nbf, let now, let leeway):
            return "JWT is not valid before \(nbf) (now \(now), leeway \(leeway) s); check the clocks"
        case .issuedInFuture(let iat, let now, let leeway):
            return "JWT issued at \(iat) is in the future (now \(now), leeway \(leeway) s); check the clocks"
        case .invalidLifetime(let seconds, let limit):
            return "JWT lifetime exp - iat of \(seconds) s is outside 1...\(limit) s; mint a shorter-lived token"
        case .audienceMismatch(let expected):
            return "JWT audience does not include '\(expected)'"
        case .issuerMismatch(let expected):
            return "JWT issuer is not '\(expected)'"
        case .subjectMismatch:
            return "JWT subject is not the account that owns the signing token"
        case .emptyJWTID:
            return "JWT 'jti' is empty; it must be a unique id"
        case .replayedJWTID:
            return "JWT 'jti' was already used for a registration; mint a fresh token"
        case .invalidMasterKeyLength(let found):
            return "master key is \(found) bytes, AES-256-GCM needs 32"
        case .sealedBoxTooShort(let found, let minimum):
            return "sealed secret is \(found) bytes, at least \(minimum) (nonce and tag) are required"
        case .decryptionFailed:
            return "sealed secret failed authentication: wrong master key, wrong record, or tampered data"
        }
    }

    /// Attacker-influenced text shown in a message, cut short so errors stay one line.
    static func clip(_ bytes: some Collection<UInt8>) -> String {
        let printable = bytes.prefix(32).map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }
        return String(decoding: printable, as: UTF8.self)
    }
}
