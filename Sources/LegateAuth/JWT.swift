/// The registered claims of a delegate JWT (RFC 7519 §4.1); times are Unix seconds.
public struct JWTClaims: Sendable, Equatable {
    /// `sub`: the account id that owns the signing token.
    public var subject: String
    /// `iss`: the delegate instance id.
    public var issuer: String
    /// `aud`: string or array on the wire.
    public var audience: [String]
    /// `iat`: issued at.
    public var issuedAt: Int64
    /// `nbf`: not before, optional.
    public var notBefore: Int64?
    /// `exp`: expires at, required.
    public var expiresAt: Int64
    /// `jti`: unique id, required and non-empty.
    public var jwtID: String

    /// Builds a claims set.
    public init(subject: String, issuer: String, audience: [String], issuedAt: Int64, notBefore: Int64? = nil,
                expiresAt: Int64, jwtID: String) {
        self.subject = subject
        self.issuer = issuer
        self.audience = audience
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.jwtID = jwtID
    }

    /// Claims for a fresh token: `nbf = iat = now`, `exp = now + ttl`, random `jti`.
    public static func fresh(account: String, issuer: String, audience: String, now: Int64, ttlSeconds: Int64)
        -> JWTClaims
    {
        JWTClaims(subject: account, issuer: issuer, audience: [audience], issuedAt: now, notBefore: now,
                  expiresAt: now + ttlSeconds, jwtID: Base64URL.encode(SecureRandom.bytes(16)))
    }

    /// The claims as compact JSON (also what `legatectl jwt verify` prints).
    public var json: String {
        var out = "{\"sub\":\(jsonString(self.subject)),\"iss\":\(jsonString(self.issuer)),\"aud\":"
        out += self.audience.count == 1 ? jsonString(self.audience[0])
            : "[" + self.audience.map(jsonString).joined(separator: ",") + "]"
        out += ",\"iat\":\(self.issuedAt)"
        if let nbf = self.notBefore { out += ",\"nbf\":\(nbf)" }
        out += ",\"exp\":\(self.expiresAt),\"jti\":\(jsonString(self.jwtID))}"
        return out
    }
}

/// `text` as a JSON string literal with the escapes RFC 8259 requires (quote, backslash, control characters).
public func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Mints HS256 JWS compact tokens (used by the delegate library and `legatectl jwt mint`).
public enum JWTMinter {
    /// `base64url(header).base64url(claims).base64url(HMAC)` with header `{"alg":"HS256","typ":"JWT","kid":…}`.
    public static func mint(claims: JWTClaims, keyID: String, key: HMACKey) -> String {
        let header = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\(jsonString(keyID))}"
        let signingInput = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.json.utf8))
        return signingInput + "." + Base64URL.encode(key.authenticationCode(for: Array(signingInput.utf8)))
    }
}

/// The key and owning account found for a `kid`.
public struct ResolvedKey: Sendable {
    /// The HMAC key (the delegate token value's bytes).
    public let key: HMACKey
    /// The account that owns the token; the JWT `sub` must equal it.
    public let accountID: String

    /// Pairs a key with its account.
    public init(key: HMACKey, accountID: String) {
        self.key = key
        self.accountID = accountID
    }
}

/// Finds the key for a JWT `kid`; called on a cache miss only. Return nil for unknown or revoked tokens.
public protocol JWTKeyResolver: Sendable {
    /// The key for `keyID`, or nil when it is unknown, revoked or deleted.
    func resolveKey(keyID: Substring) -> ResolvedKey?
}

/// A resolver over a fixed dictionary of keys (tests, `legatectl jwt verify`).
public struct StaticKeyResolver: JWTKeyResolver {
    /// Keys by `kid`.
    public let keys: [String: ResolvedKey]
    /// Uses the given keys.
    public init(keys: [String: ResolvedKey]) { self.keys = keys }
    /// Looks `keyID` up in the dictionary.
    public func resolveKey(keyID: Substring) -> ResolvedKey? {
        // A substring spanning its whole base string (what the validator passes) is looked up without a copy.
        if keyID.startIndex == keyID.base.startIndex && keyID.endIndex == keyID.base.endIndex {
            return self.keys[keyID.base]
        }
        return self.keys[String(keyID)]
    }
}

/// A resolver that accepts any `kid` with one key and account (`legatectl jwt verify --secret-file`).
public struct SingleKeyResolver: JWTKeyResolver {
    /// The key and account returned for every `kid` (or only for `keyID` when set).
    public let resolved: ResolvedKey
    /// When non-nil, only this `kid` resolves.
    public let keyID: String?
    /// One key for every `kid`, or only for `keyID`.
    public init(key: HMACKey, accountID: String, keyID: String? = nil) {
        self.resolved = ResolvedKey(key: key, accountID: accountID)
        self.keyID = keyID
    }
    /// The key, when `keyID` matches or no id was required.
    public func resolveKey(keyID: Substring) -> ResolvedKey? {
        if let expected = self.keyID, expected != keyID { return nil }
        return self.resolved
    }
}

/// What a JWT must satisfy; `Sendable`, `Equatable` configuration with documented defaults.
public struct JWTPolicy: Sendable, Equatable {
    /// Required member of `aud`.
    public var audience: String
    /// When set, `iss` must equal it.
    public var issuer: String?
    /// Clock skew allowed on `exp`, `nbf`, `iat` (default 60 s).
    public var leewaySeconds: Int64 = 60
    /// Largest `exp - iat` accepted (default 3600 s).
    public var maxLifetimeSeconds: Int64 = 3600
    /// Longest JWT accepted, checked before any work (default 4096 bytes).
    public var maxTokenBytes: Int = 4096
    /// When true, `sub` must equal the resolved key's account (default true; `legatectl` may relax it).
    public var requireSubjectMatch: Bool = true

    /// A policy with every field given.
    public init(audience: String, issuer: String? = nil, leewaySeconds: Int64 = 60, maxLifetimeSeconds: Int64 = 3600,
                maxTokenBytes: Int = 4096) {
        self.audience = audience
        self.issuer = issuer
        self.leewaySeconds = leewaySeconds
        self.maxLifetimeSeconds = maxLifetimeSeconds
        self.maxTokenBytes = maxTokenBytes
    }

    /// Defaults: no issuer check, 60 s leeway, 3600 s max lifetime, 4096-byte tokens.
    public static func defaults(audience: String) -> JWTPolicy { JWTPolicy(audience: audience) }
}

/// A JWT that passed every check.
public struct VerifiedJWT: Sendable, Equatable {
    /// The `kid` (delegate token id).
    public let keyID: String
    /// The verified claims.
    public let claims: JWTClaims

    /// Pairs a key id with its claims (tests and caches).
    public init(keyID: String, claims: JWTClaims) {
        self.keyID = keyID
        self.claims = claims
    }
}
