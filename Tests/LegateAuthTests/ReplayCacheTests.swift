import LegateAuth
import Testing

/// Registration replay windows are per token: one flooded token never refuses another token's registration,
/// and a full window is a retryable outcome, distinct from a replay.
@Suite struct ReplayCacheTests {
    @Test func outcomesAreExact() {
        let cache = ReplayCache(perTokenCapacity: 2)
        #expect(cache.insert(jwtID: "a", keyID: "k1", expiresAt: 100, now: 0) == .fresh)
        #expect(cache.insert(jwtID: "a", keyID: "k1", expiresAt: 100, now: 50) == .replayed)
        #expect(cache.insert(jwtID: "b", keyID: "k1", expiresAt: 200, now: 50) == .fresh)
        #expect(cache.insert(jwtID: "c", keyID: "k1", expiresAt: 200, now: 60) == .windowFull)
        // A replay is still told apart while the window is full.
        #expect(cache.insert(jwtID: "b", keyID: "k1", expiresAt: 200, now: 60) == .replayed)
        // The same jti under another token is another JWT: fresh.
        #expect(cache.insert(jwtID: "a", keyID: "k2", expiresAt: 100, now: 60) == .fresh)
        #expect(cache.count == 3)
    }

    @Test func aFloodedTokenLeavesOthersUnaffected() {
        let cache = ReplayCache(perTokenCapacity: 100)
        var full = 0
        for index in 0..<1000 {
            let outcome = cache.insert(jwtID: "attack-\(index)", keyID: "stolen", expiresAt: 3600, now: 0)
            if outcome == .windowFull { full += 1 } else { #expect(outcome == .fresh) }
        }
        #expect(full == 900)
        for index in 0..<100 {
            #expect(cache.insert(jwtID: "ok-\(index)", keyID: "honest", expiresAt: 3600, now: 1) == .fresh)
        }
        #expect(cache.count == 200)
    }

    @Test func expiryFreesRoom() {
        let cache = ReplayCache(perTokenCapacity: 2)
        #expect(cache.insert(jwtID: "a", keyID: "k", expiresAt: 100, now: 0) == .fresh)
        #expect(cache.insert(jwtID: "b", keyID: "k", expiresAt: 200, now: 0) == .fresh)
        #expect(cache.insert(jwtID: "c", keyID: "k", expiresAt: 300, now: 99) == .windowFull)
        #expect(cache.insert(jwtID: "c", keyID: "k", expiresAt: 300, now: 100) == .fresh)
        // An expired id may be used again.
        #expect(cache.insert(jwtID: "b", keyID: "k", expiresAt: 400, now: 200) == .fresh)
        #expect(cache.count == 2)
    }

    @Test func idsWithMixedLifetimesExpireExactly() {
        let cache = ReplayCache(perTokenCapacity: 1000)
        // Expiries 1000, 1007, 1014, ... in a scrambled order.
        let expiries = (0..<1000).map { Int64(1000 + ($0 * 7919 % 1000) * 7) }
        for (index, expiry) in expiries.enumerated() {
            #expect(cache.insert(jwtID: "id-\(index)", keyID: "k", expiresAt: expiry, now: 0) == .fresh)
        }
        #expect(cache.insert(jwtID: "late", keyID: "k", expiresAt: 9000, now: 0) == .windowFull)
        // At 1350, the 51 ids expiring at 1000...1350 are gone: exactly that many fit again.
        var admitted = 0
        for index in 0..<60 where cache.insert(jwtID: "new-\(index)", keyID: "k", expiresAt: 9000, now: 1350) == .fresh {
            admitted += 1
        }
        #expect(admitted == 51)
        for (index, expiry) in expiries.enumerated() where expiry > 1350 {
            #expect(cache.insert(jwtID: "id-\(index)", keyID: "k", expiresAt: expiry, now: 1350) == .replayed)
        }
    }

    @Test func aFleetSharingOneTokenFitsByDefault() {
        let cache = ReplayCache()
        for index in 0..<30_000 {
            #expect(cache.insert(jwtID: "jti-\(index)", keyID: "fleet", expiresAt: 3600, now: 0) == .fresh)
        }
        #expect(cache.count == 30_000)
        #expect(cache.bytesUsed < 4 << 20)
    }

    @Test func memoryIsBoundedInBytesOverAllTokens() {
        // Room for about ten ids in total, whatever the number of tokens.
        let cache = ReplayCache(perTokenCapacity: 1000, maxBytes: 10 * (64 + 8) + 3 * (128 + 8))
        var fresh = 0
        for index in 0..<100 {
            let keyID = "key-\(index % 3)"
            if cache.insert(jwtID: "id-\(index)", keyID: keyID, expiresAt: 50, now: 0) == .fresh { fresh += 1 }
        }
        #expect(fresh > 0 && fresh <= 12)
        #expect(cache.bytesUsed <= 10 * (64 + 8) + 3 * (128 + 8))
        #expect(cache.insert(jwtID: "late", keyID: "key-9", expiresAt: 100, now: 10) == .windowFull)
        // Once everything has expired the budget is swept and the room returns.
        #expect(cache.insert(jwtID: "late", keyID: "key-9", expiresAt: 100, now: 50) == .fresh)
        #expect(cache.count == 1)
    }

    @Test func removingATokenFreesItsBytes() {
        let cache = ReplayCache()
        #expect(cache.bytesUsed == 0)
        #expect(cache.insert(jwtID: "a", keyID: "k", expiresAt: 100, now: 0) == .fresh)
        #expect(cache.bytesUsed > 0)
        cache.remove(keyID: "k")
        #expect(cache.bytesUsed == 0 && cache.count == 0)
        #expect(cache.insert(jwtID: "a", keyID: "k", expiresAt: 100, now: 0) == .fresh)
    }
}
