import LegateAuth
import LegateCore
import Synchronization
import Testing

/// A resolver whose keys can be revoked, and which can run a hook while a verify is between resolve and insert.
final class RevocableResolver: JWTKeyResolver {
    let key: HMACKey
    let keyID: String
    let revoked = Atomic<Bool>(false)
    let resolveCount = Atomic<Int>(0)
    let onResolve = Mutex<(@Sendable () -> Void)?>(nil)

    init(key: HMACKey, keyID: String) {
        self.key = key
        self.keyID = keyID
    }

    func resolveKey(keyID: Substring) -> ResolvedKey? {
        self.resolveCount.add(1, ordering: .relaxed)
        guard keyID == self.keyID, !self.revoked.load(ordering: .acquiring) else { return nil }
        let resolved = ResolvedKey(key: self.key, accountID: "acct_1")
        // The hook runs after the key was resolved, before the verify inserts into the cache.
        let hook = self.onResolve.withLock { hook in
            defer { hook = nil }
            return hook
        }
        hook?()
        return resolved
    }
}

@Suite struct ValidatorTests {
    static let now: Int64 = 1_790_000_000
    let token = DelegateToken.generate()

    func mint(jti: String = "j1", ttl: Int64 = 600) -> String {
        let claims = JWTClaims(subject: "acct_1", issuer: "d", audience: ["m"], issuedAt: Self.now,
                               notBefore: Self.now, expiresAt: Self.now + ttl, jwtID: jti)
        return JWTMinter.mint(claims: claims, keyID: self.token.id, key: self.token.hmacKey)
    }

    @Test func cacheServesRepeatsAndStillChecksExpiry() throws {
        let resolver = RevocableResolver(key: self.token.hmacKey, keyID: self.token.id)
        let validator = JWTValidator(policy: .defaults(audience: "m"), resolver: resolver)
        let jwt = self.mint()
        for _ in 0..<5 { _ = try validator.verify(jwt, now: Self.now) }
        #expect(resolver.resolveCount.load(ordering: .relaxed) == 1)
        #expect(validator.cachedCount == 1)
        #expect(throws: AuthError.expired(expiresAt: Self.now + 600, now: Self.now + 660, leeway: 60)) {
            try validator.verify(jwt, now: Self.now + 660)
        }
        // A token differing only after the cache key (altered payload, same signature) is not a hit.
        var bytes = Array(jwt.utf8)
        bytes[40] = bytes[40] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: AuthError.self) { try validator.verify(String(decoding: bytes, as: UTF8.self), now: Self.now) }
    }

    @Test func evictRemovesAtOnce() throws {
        let resolver = RevocableResolver(key: self.token.hmacKey, keyID: self.token.id)
        let validator = JWTValidator(policy: .defaults(audience: "m"), resolver: resolver)
        let jwt = self.mint()
        _ = try validator.verify(jwt, now: Self.now)
        resolver.revoked.store(true, ordering: .releasing)
        validator.evict(keyID: self.token.id)
        #expect(validator.cachedCount == 0)
        #expect(throws: AuthError.unknownKeyID(self.token.id)) { try validator.verify(jwt, now: Self.now) }
    }

    @Test func verifyRacingARevokeDoesNotReinsert() throws {
        let resolver = RevocableResolver(key: self.token.hmacKey, keyID: self.token.id)
        let validator = JWTValidator(policy: .defaults(audience: "m"), resolver: resolver)
        let keyID = self.token.id
        // The revoke lands after this verify resolved the key but before it inserts into the cache.
        resolver.onResolve.withLock {
            $0 = {
                resolver.revoked.store(true, ordering: .releasing)
                validator.evict(keyID: keyID)
            }
        }
        let jwt = self.mint()
        _ = try validator.verify(jwt, now: Self.now)  // began before the revoke, so it may succeed once
        #expect(validator.cachedCount == 0)
        #expect(throws: AuthError.unknownKeyID(keyID)) { try validator.verify(jwt, now: Self.now) }
    }

    @Test func cacheStaysBounded() throws {
        let resolver = RevocableResolver(key: self.token.hmacKey, keyID: self.token.id)
        let validator = JWTValidator(policy: .defaults(audience: "m"), resolver: resolver, cacheCapacity: 64)
        for index in 0..<500 { _ = try validator.verify(self.mint(jti: "j\(index)"), now: Self.now) }
        #expect(validator.cachedCount <= 64)
        // FIFO eviction keeps the most recent insertions: re-verifying the last one needs no resolve.
        let resolves = resolver.resolveCount.load(ordering: .relaxed)
        _ = try validator.verify(self.mint(jti: "j499"), now: Self.now)
        #expect(resolver.resolveCount.load(ordering: .relaxed) == resolves)
        // After an eviction the cache refills and stays bounded (stale ring slots are harmless).
        validator.evict(keyID: self.token.id)
        #expect(validator.cachedCount == 0)
        for index in 0..<300 { _ = try validator.verify(self.mint(jti: "k\(index % 100)"), now: Self.now) }
        #expect(validator.cachedCount <= 64)
        let uncached = JWTValidator(policy: .defaults(audience: "m"), resolver: resolver, cacheCapacity: 0)
        _ = try uncached.verify(self.mint(), now: Self.now)
        #expect(uncached.cachedCount == 0)
    }

    @Test func concurrentVerifiesAndEvictions() async throws {
        let resolver = RevocableResolver(key: self.token.hmacKey, keyID: self.token.id)
        let validator = JWTValidator(policy: .defaults(audience: "m"), resolver: resolver)
        let tokens = (0..<50).map { self.mint(jti: "c\($0)") }
        await withTaskGroup(of: Int.self) { group in
            for worker in 0..<2 {
                group.addTask {
                    var accepted = 0
                    for round in 0..<400 {
                        if (try? validator.verify(tokens[(round + worker) % tokens.count], now: Self.now)) != nil {
                            accepted += 1
                        }
                    }
                    return accepted
                }
            }
            group.addTask {
                for _ in 0..<50 { validator.evict(keyID: "other") }
                return 0
            }
            var total = 0
            for await count in group { total += count }
            #expect(total == 800)
        }
    }
}

@Suite struct JWTFuzzTests {
    @Test func mutatedTokensNeverCrashNorVerify() {
        let seed: UInt64 = 0x1e6a_7e02
        var random = SeededJitter(seed: seed)
        let token = DelegateToken.generate(id: "abcdefghijklmnop")
        let now: Int64 = 1_790_000_000
        let claims = JWTClaims(subject: "acct_1", issuer: "d", audience: ["m"], issuedAt: now, notBefore: now,
                               expiresAt: now + 600, jwtID: "fuzz")
        let original = Array(JWTMinter.mint(claims: claims, keyID: token.id, key: token.hmacKey).utf8)
        let validator = JWTValidator(
            policy: .defaults(audience: "m"),
            resolver: SingleKeyResolver(key: token.hmacKey, accountID: "acct_1"))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/{}\"\\ \u{0}".utf8)
        var accepted = 0
        for _ in 0..<30_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<max(1, bytes.count), using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
                case 1 where !bytes.isEmpty: bytes[position] = alphabet.randomElement(using: &random) ?? 0
                case 2: bytes.insert(alphabet.randomElement(using: &random) ?? 0, at: min(position, bytes.count))
                case 3 where !bytes.isEmpty: bytes.remove(at: position)
                case 4: bytes = Array(bytes.prefix(position))
                default: bytes += bytes.suffix(Int.random(in: 0..<64, using: &random))
                }
            }
            let result = bytes.withUnsafeBytes { try? validator.verify($0, now: now) }
            if result != nil {
                accepted += 1
                #expect(bytes == original, "seed \(seed): accepted a mutated token")
            }
        }
        #expect(accepted <= 30_000)
    }
}
