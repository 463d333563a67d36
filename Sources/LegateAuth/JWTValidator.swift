import Synchronization

/// Verifies delegate JWTs with a validated-token cache; shared by event-loop threads (thread-safe, cheap reads).
///
/// Revocation: first make the resolver refuse the key (mark the token revoked in the store), then call
/// `evict(keyID:)`. A global eviction epoch, read before the resolver is consulted and checked under the shard
/// lock at insert time, stops a verify that resolved the key before the revoke from re-inserting afterwards.
public final class JWTValidator: Sendable {
    /// Number of independently locked cache shards (a power of two).
    static let shardCount = 16

    /// The policy every token is checked against.
    public let policy: JWTPolicy
    private let resolver: any JWTKeyResolver
    private let shards: [CacheShard]
    private let shardCapacity: Int
    private let epoch = Atomic<UInt64>(0)
    /// `[policy.audience]`, shared by every verified token that names only that audience.
    private let audiences: [String]

    /// A validator with `cacheCapacity` cached tokens in total (0 disables caching).
    public init(policy: JWTPolicy, resolver: some JWTKeyResolver, cacheCapacity: Int = 65_536) {
        self.policy = policy
        self.resolver = resolver
        self.audiences = [policy.audience]
        self.shardCapacity = max(0, cacheCapacity) / Self.shardCount
        let shardCapacity = self.shardCapacity
        self.shards = (0..<Self.shardCount).map { _ in CacheShard(capacity: shardCapacity) }
    }

    /// Verifies `token` at `now` (Unix seconds); a token seen before costs a hash lookup.
    public func verify(_ token: String, now: Int64) throws(AuthError) -> VerifiedJWT {
        try withBytes(token) { bytes throws(AuthError) in try self.verify(bytes, now: now) }
    }

    /// Verifies the JWT bytes in `token` at `now`; the bytes are only read during the call.
    public func verify(_ token: UnsafeRawBufferPointer, now: Int64) throws(AuthError) -> VerifiedJWT {
        guard token.count <= self.policy.maxTokenBytes else {
            throw .jwtTooLarge(bytes: token.count, limit: self.policy.maxTokenBytes)
        }
        guard self.shardCapacity > 0, let cacheKey = CacheKey(token) else {
            return try JWTVerifier.verify(token, now: now, policy: self.policy, resolver: self.resolver,
                                        audiences: self.audiences)
        }
        let shard = self.shards[Int(truncatingIfNeeded: cacheKey.low) & (Self.shardCount - 1)]
        // Under the lock: one lookup and one retain of the entry object; the byte compare runs outside it
        // (entries are immutable once inserted).
        let candidate = shard.state.withLock { state in state.entries[cacheKey] }
        let hit = candidate.flatMap { entry in entry.token.withUnsafeBytes { sameBytes($0, token) } ? entry : nil }
        if let hit {
            let leeway = self.policy.leewaySeconds
            let claims = hit.verified.claims
            guard now < claims.expiresAt &+ leeway else {
                throw .expired(expiresAt: claims.expiresAt, now: now, leeway: leeway)
            }
            if let nbf = claims.notBefore, nbf > now &+ leeway {
                throw .notYetValid(notBefore: nbf, now: now, leeway: leeway)
            }
            return hit.verified
        }
        let epochBefore = self.epoch.load(ordering: .acquiring)
        let verified = try JWTVerifier.verify(token, now: now, policy: self.policy, resolver: self.resolver,
                                        audiences: self.audiences)
        // The one copy of the token bytes, made outside the lock.
        let entry = CacheEntry(token: Array(token), verified: verified)
        shard.state.withLock { state in
            // An eviction that started after we read the epoch and already swept this shard wins.
            guard state.epoch <= epochBefore else { return }
            state.insert(entry, for: cacheKey)
        }
        return verified
    }

    /// Verifies without reading or filling the cache (the benchmark's cold figure).
    public func verifyUncached(_ token: String, now: Int64) throws(AuthError) -> VerifiedJWT {
        try withBytes(token) { bytes throws(AuthError) in
            try JWTVerifier.verify(bytes, now: now, policy: self.policy, resolver: self.resolver,
                                        audiences: self.audiences)
        }
    }

    /// Byte variant of `verifyUncached(_:now:)`.
    public func verifyUncached(_ token: UnsafeRawBufferPointer, now: Int64) throws(AuthError) -> VerifiedJWT {
        try JWTVerifier.verify(token, now: now, policy: self.policy, resolver: self.resolver,
                                        audiences: self.audiences)
    }

    /// Drops every cached JWT signed with `keyID` at once; in-flight verifies cannot re-insert them.
    /// Call after the resolver already refuses the key.
    public func evict(keyID: String) {
        let newEpoch = self.epoch.add(1, ordering: .acquiringAndReleasing).newValue
        for shard in self.shards {
            shard.state.withLock { state in
                state.epoch = max(state.epoch, newEpoch)
                state.entries = state.entries.filter { $0.value.verified.keyID != keyID }
            }
        }
    }

    /// Drops the whole cache (e.g. after a key rotation of many tokens).
    public func evictAll() {
        let newEpoch = self.epoch.add(1, ordering: .acquiringAndReleasing).newValue
        for shard in self.shards {
            shard.state.withLock { state in
                state.epoch = max(state.epoch, newEpoch)
                state.entries.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Number of cached tokens (tests and metrics).
    public var cachedCount: Int { self.shards.reduce(0) { $0 + $1.state.withLock { $0.entries.count } } }
}

/// Plain equality by 8-byte words; the cache compares a presented token to one already proven valid.
@inline(__always)
func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var index = 0
    while index + 8 <= a.count {
        if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
            return false
        }
        index += 8
    }
    while index < a.count {
        if a[index] != b[index] { return false }
        index += 1
    }
    return true
}

/// Runs `body` over the UTF-8 bytes of `text` (contiguous for native strings), keeping the typed error.
@inline(__always)
func withBytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) throws(AuthError) -> T) throws(AuthError) -> T {
    var text = text
    var result: Result<T, AuthError>?
    text.withUTF8 { buffer in
        do throws(AuthError) {
            result = .success(try body(UnsafeRawBufferPointer(buffer)))
        } catch {
            result = .failure(error)
        }
    }
    guard let result else { throw .wrongSegmentCount(found: 0) }
    return try result.get()
}

/// 96 bits from the start of the signature segment: an HMAC output, so uniform and not chosen by a peer
/// without the key. A hit is confirmed by comparing the whole token.
struct CacheKey: Hashable {
    let low: UInt64
    let high: UInt32

    init?(_ token: UnsafeRawBufferPointer) {
        // The signature is the last 43 bytes after the last dot; scan backwards a bounded distance.
        let count = token.count
        guard count > 44, token[count - 44] == UInt8(ascii: ".") else { return nil }
        self.low = token.loadUnaligned(fromByteOffset: count - 43, as: UInt64.self)
        self.high = token.loadUnaligned(fromByteOffset: count - 35, as: UInt32.self)
    }

    func hash(into hasher: inout Hasher) { hasher.combine(self.low) }
}

/// A validated token: immutable once built, so readers may use it after leaving the shard lock.
final class CacheEntry: Sendable {
    let token: [UInt8]
    let verified: VerifiedJWT

    init(token: [UInt8], verified: VerifiedJWT) {
        self.token = token
        self.verified = verified
    }
}

/// One shard: a hash map plus a FIFO ring of the keys in insertion order. A full shard drops its oldest
/// insertion (amortised O(1), no sweeps); expired entries age out the same way and are refused on lookup.
struct ShardState: Sendable {
    var entries: [CacheKey: CacheEntry] = [:]
    /// Insertion-order keys, grown up to `capacity`; then slot `next` is the oldest and is overwritten next.
    var ring: [CacheKey] = []
    var next = 0
    let capacity: Int
    var epoch: UInt64 = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Inserts `entry`, first dropping the entry of the ring slot it reuses. Each map entry owns at least one
    /// ring slot, so the map never holds more than `capacity` entries. A stale slot (its key was evicted and
    /// perhaps re-inserted since) only costs an early drop, never a wrong hit.
    mutating func insert(_ entry: CacheEntry, for key: CacheKey) {
        guard self.capacity > 0 else { return }
        if self.ring.count < self.capacity {
            self.ring.append(key)
        } else {
            self.entries.removeValue(forKey: self.ring[self.next])
            self.ring[self.next] = key
            self.next = self.next + 1 == self.capacity ? 0 : self.next + 1
        }
        self.entries[key] = entry
    }
}

final class CacheShard: Sendable {
    let state: Mutex<ShardState>

    init(capacity: Int) { self.state = Mutex(ShardState(capacity: capacity)) }
}
