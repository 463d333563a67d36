import Foundation
import LegateAuth
import LegateTestSupport
import Testing

/// One entry of `Proto/vectors/jwt*.json` (written by tools/jwt_vectors.py).
struct JWTVector: Decodable, Sendable, CustomStringConvertible {
    struct Policy: Decodable, Sendable {
        let audience: String
        let issuer: String?
        let leeway: Int64
        let maxLifetime: Int64
        let maxTokenBytes: Int
    }
    struct Claims: Decodable, Sendable {
        enum Audience: Decodable, Sendable {
            case one(String), many([String])
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) { self = .one(text) } else {
                    self = .many(try container.decode([String].self))
                }
            }
            var list: [String] {
                switch self {
                case .one(let value): return [value]
                case .many(let values): return values
                }
            }
        }
        let sub: String, iss: String, aud: Audience, iat: Int64, nbf: Int64?, exp: Int64, jti: String
    }
    struct File: Decodable { let vectors: [JWTVector] }

    let id: Int
    let comment: String
    let token: String
    let key: String
    let kid: String
    let account: String
    let now: Int64
    let policy: Policy
    let result: String
    let error: String?
    let claims: Claims?

    var description: String { "#\(self.id) \(self.comment)" }

    var jwtPolicy: JWTPolicy {
        JWTPolicy(audience: self.policy.audience, issuer: self.policy.issuer, leewaySeconds: self.policy.leeway,
                  maxLifetimeSeconds: self.policy.maxLifetime, maxTokenBytes: self.policy.maxTokenBytes)
    }

    func validator() -> JWTValidator {
        let key = HMACKey(keyBytes: Array(self.key.utf8))
        let resolver = StaticKeyResolver(keys: [self.kid: ResolvedKey(key: key, accountID: self.account)])
        return JWTValidator(policy: self.jwtPolicy, resolver: resolver)
    }

    static func all(_ name: String) -> [JWTVector] {
        (try? Vectors.load(name, as: File.self).vectors) ?? []
    }
}

@Suite struct JWTVectorTests {
    static let handmade = JWTVector.all("jwt.json")
    static let independent = JWTVector.all("jwt_pyjwt.json")

    @Test func vectorFilesLoad() {
        #expect(Self.handmade.count > 50)
        #expect(Self.independent.count > 10)
    }

    @Test(arguments: handmade + independent)
    func vector(_ vector: JWTVector) {
        let validator = vector.validator()
        // Check twice: the second call goes through the validated-token cache.
        for pass in 0..<2 {
            do {
                let verified = try validator.verify(vector.token, now: vector.now)
                #expect(vector.result == "valid", "\(vector) pass \(pass): accepted, expected \(vector.error ?? "")")
                if let claims = vector.claims {
                    #expect(verified.keyID == vector.kid)
                    #expect(verified.claims == JWTClaims(
                        subject: claims.sub, issuer: claims.iss, audience: claims.aud.list, issuedAt: claims.iat,
                        notBefore: claims.nbf, expiresAt: claims.exp, jwtID: claims.jti), "\(vector)")
                }
            } catch {
                #expect(vector.error == error.code, "\(vector) pass \(pass): \(error)")
                #expect(!error.description.contains(vector.key), "\(vector): secret in message")
                #expect(!error.description.contains(vector.token) || vector.token.isEmpty, "\(vector): JWT in message")
            }
        }
    }

    @Test func everyJWTRejectionHasAVector() {
        let covered = Set((Self.handmade + Self.independent).compactMap(\.error))
        let required = [
            "jwtTooLarge", "wrongSegmentCount", "base64Padding", "invalidBase64URL", "notAnObject", "malformedJSON",
            "duplicateKey", "nestingTooDeep", "missingAlgorithm", "algorithmNotAllowed", "unsupportedType",
            "missingKeyID", "criticalHeaderUnsupported", "invalidHeaderType", "unknownKeyID",
            "invalidSignatureLength", "signatureMismatch", "missingClaim", "invalidClaimType", "expired",
            "notYetValid", "issuedInFuture", "invalidLifetime", "audienceMismatch", "issuerMismatch",
            "subjectMismatch", "emptyJWTID",
        ]
        for name in required { #expect(covered.contains(name), "no vector for \(name)") }
    }

    @Test func mintedTokensVerify() throws {
        let token = DelegateToken.generate()
        let claims = JWTClaims.fresh(account: "acct_9", issuer: "d-1", audience: "m", now: 1000, ttlSeconds: 300)
        let jwt = JWTMinter.mint(claims: claims, keyID: token.id, key: token.hmacKey)
        let validator = JWTValidator(
            policy: .defaults(audience: "m"),
            resolver: SingleKeyResolver(key: token.hmacKey, accountID: "acct_9", keyID: token.id))
        #expect(try validator.verify(jwt, now: 1000) == VerifiedJWT(keyID: token.id, claims: claims))
        #expect(try validator.verifyUncached(jwt, now: 1100).claims == claims)
        #expect(throws: AuthError.expired(expiresAt: 1300, now: 1360, leeway: 60)) {
            try validator.verify(jwt, now: 1360)
        }
    }
}
