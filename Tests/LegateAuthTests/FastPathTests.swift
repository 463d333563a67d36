import Foundation
@testable import LegateAuth
import LegateCore
import Testing

/// The minter-shape fast paths must accept exactly what the strict scanner accepts, with the same result.
@Suite struct FastPathTests {
    static let policy = JWTPolicy(audience: "legate-manager", issuer: "delegate-1")
    static let account = "acct_1"

    /// Strict header result (kid or error) versus the fast path: when the fast path answers, they agree.
    static func checkHeader(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            let strict = Result { () throws(AuthError) -> String in try JWTVerifier.parseHeader(raw) }
            guard let fast = JWTVerifier.mintedKeyID(raw) else { return true }
            #expect(strict == .success(fast), "header \(String(decoding: bytes, as: UTF8.self))")
            return false
        }
    }

    /// Same for the claims set; true when the strict path had to answer.
    static func checkClaims(_ bytes: [UInt8], account: String = account, policy: JWTPolicy = policy) -> Bool {
        bytes.withUnsafeBytes { raw in
            let audiences = [policy.audience]
            let strict = Result { () throws(AuthError) -> JWTClaims in
                try JWTVerifier.parseClaims(raw, accountID: account, policy: policy, audiences: audiences)
            }
            guard let fast = JWTVerifier.parseMintedClaims(raw, accountID: account, policy: policy,
                                                           audiences: audiences) else { return true }
            #expect(strict == .success(fast), "claims \(String(decoding: bytes, as: UTF8.self))")
            return false
        }
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var b64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        return Data(base64Encoded: b64).map { Array($0) }
    }

    @Test func minterOutputTakesTheFastPaths() {
        let claims = JWTClaims(subject: Self.account, issuer: "delegate-1", audience: ["legate-manager"],
                               issuedAt: 100, notBefore: 100, expiresAt: 200, jwtID: "j-1")
        let header = Array("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"kid1\"}".utf8)
        #expect(!Self.checkHeader(header))
        #expect(!Self.checkClaims(Array(claims.json.utf8)))
        var noNbf = claims
        noNbf.notBefore = nil
        #expect(!Self.checkClaims(Array(noNbf.json.utf8)))
    }

    static let mintedHeader = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":"

    @Test(arguments: [
        mintedHeader + "\"\"}", mintedHeader + "\"a\\\"b\"}", mintedHeader + "\"a\\u0041\"}", mintedHeader + "\"é\"}",
        mintedHeader + "\"k\",\"kid\":\"k\"}", mintedHeader + "\"k\"} ", mintedHeader + "\"k\"}}",
        mintedHeader + "\"k\"\"}", mintedHeader + "\"k\",\"crit\":[\"x\"]}",
        "{\"alg\":\"hs256\",\"typ\":\"JWT\",\"kid\":\"k\"}",
    ])
    func headerEdgeCasesAgree(_ text: String) {
        _ = Self.checkHeader(Array(text.utf8))
    }

    static let base = "{\"sub\":\"acct_1\",\"iss\":\"delegate-1\",\"aud\":\"legate-manager\","

    @Test(arguments: [
        base + "\"iat\":1,\"exp\":2,\"jti\":\"j\"} ", base + "\"iat\":1,\"exp\":2,\"jti\":\"j\",\"jti\":\"j\"}",
        "{\"sub\":\"acct\\u005f1\",\"iss\":\"d\",\"aud\":[\"legate-manager\",\"x\"],\"iat\":1,\"exp\":2,\"jti\":\"j\"}",
        base + "\"iat\":1.0,\"exp\":2,\"jti\":\"j\"}", base + "\"iat\":01,\"exp\":2,\"jti\":\"j\"}",
        base + "\"iat\":1,\"exp\":2,\"jti\":\"\"}", base + "\"iat\":1,\"exp\":2,\"jti\":7}",
        base + "\"iat\":1,\"exp\":2}", base + "\"iat\":1,\"exp\":2,\"jti\":\"j\"}x",
        base + "\"iat\":1,\"nbf\":1,\"exp\":2,\"jti\":\"j\"}",
        // NumericDates that are not plain integers: the fast path declines, the strict path reads them.
        base + "\"iat\":1,\"exp\":2.5,\"jti\":\"j\"}", base + "\"iat\":1,\"exp\":2e0,\"jti\":\"j\"}",
        base + "\"iat\":1,\"nbf\":0.5,\"exp\":2,\"jti\":\"j\"}", base + "\"iat\":1,\"exp\":2.,\"jti\":\"j\"}",
        base + "\"iat\":1,\"exp\":{\"a\":1,\"a\":2},\"jti\":\"j\"}",
        base + "\"iat\":1,\"exp\":2,\"jti\":\"j\",\"x\":{\"a\":1,\"a\":2}}",
    ])
    func claimsEdgeCasesAgree(_ text: String) {
        _ = Self.checkClaims(Array(text.utf8))
    }

    /// Every vector's decoded header and payload, and seeded single-byte mutations of the minter's shapes.
    @Test func vectorsAndMutationsAgree() {
        for vector in JWTVectorTests.handmade + JWTVectorTests.independent {
            let parts = vector.token.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if let header = Self.decode(parts[0]) { _ = Self.checkHeader(header) }
            if let payload = Self.decode(parts[1]) {
                _ = Self.checkClaims(payload, account: vector.account, policy: vector.jwtPolicy)
            }
        }
        let header = Array("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"kid1\"}".utf8)
        let claims = Array(("{\"sub\":\"acct_1\",\"iss\":\"delegate-1\",\"aud\":\"legate-manager\",\"iat\":100,"
            + "\"nbf\":100,\"exp\":200,\"jti\":\"j-1\"}").utf8)
        let alphabet = Array("\"\\{}[],: 0123456789.eE-abjikstu\u{1}é".utf8)
        var random = SeededJitter(seed: 0x9e37_79b9_7f4a_7c15)
        func next(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
        for _ in 0..<20_000 {
            var h = header
            h[next(h.count)] = alphabet[next(alphabet.count)]
            _ = Self.checkHeader(h)
            var c = claims
            c[next(c.count)] = alphabet[next(alphabet.count)]
            if next(4) == 0 { c.remove(at: next(c.count)) }
            _ = Self.checkClaims(c)
        }
    }

    /// The 8-wide base64url decoder round-trips every length and rejects a bad character anywhere.
    @Test func base64RoundTripAndRejection() throws {
        var state: UInt64 = 12_345
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for length in 0..<100 {
            let bytes = (0..<length).map { _ in UInt8(next(256)) }
            let text = Array(Base64URL.encode(bytes).utf8)
            let expected = try #require(Base64URL.decodedCount(text.count))
            var out = [UInt8](repeating: 0, count: expected + 2)
            let decoded = try text.withUnsafeBytes { raw throws(AuthError) in
                try out.withUnsafeMutableBufferPointer { buffer throws(AuthError) -> Int in
                    guard let base = buffer.baseAddress else { return 0 }
                    return try Base64URL.decode(raw, into: base, segment: "payload")
                }
            }
            #expect(decoded == length && Array(out.prefix(length)) == bytes)
            guard !text.isEmpty else { continue }
            for bad in [UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "."), 0x80, 0x00] {
                var broken = text
                broken[next(broken.count)] = bad
                let threw = broken.withUnsafeBytes { raw in
                    out.withUnsafeMutableBufferPointer { buffer in
                        guard let base = buffer.baseAddress else { return false }
                        do { _ = try Base64URL.decode(raw, into: base, segment: "payload") } catch { return true }
                        return false
                    }
                }
                #expect(threw, "length \(length) bad \(bad)")
            }
        }
    }
}
