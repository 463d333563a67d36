import Synchronization

/// What `ReplayCache.insert` found.
public enum ReplayOutcome: Sendable, Equatable {
    /// First use of this `jti` within its lifetime: recorded, the registration may go on.
    case fresh
    /// The `jti` was already used with this token and has not expired: a replay, refuse for good.
    case replayed
    /// This token's window (or the cache's byte budget) is full of unexpired `jti`s: nothing is known about
    /// this one. Retryable: answer UNAVAILABLE, never as a replay.
    case windowFull
}

/// Registration `jti`s seen within their lifetime, kept per token (key id): whoever holds one token can fill
/// only that token's window, never lock other tokens or accounts out. Memory is bounded twice: at most
/// `perTokenCapacity` live ids per token and `maxBytes` over all tokens (ids, key ids and per-entry overhead).
///
/// Thread-safe; one lock, held for a dictionary lookup and a heap push per insert. Each window keeps its ids in
/// a min-heap by expiry, so expired ids are dropped in O(log n) each, never by scanning a full window.
public final class ReplayCache: Sendable {
    /// Live ids one token may hold: 100,000 registrations within a JWT lifetime (at most an hour), room for a
    /// fleet of 10,000 delegates sharing a token to re-register several times.
    public static let defaultPerTokenCapacity = 100_000
    /// The byte budget over all tokens: 128 MiB (about 15 full token windows).
    public static let defaultMaxBytes = 128 << 20
    /// Bytes charged per remembered id beyond its own length (dictionary slot, heap slot, string header).
    static let entryOverheadBytes = 64
    /// Bytes charged per token window beyond its key id.
    static let windowOverheadBytes = 128

    struct Window {
        var seen: [String: Int64] = [:]
        /// `(expiresAt, jti)` of every id in `seen`, smallest expiry first; an entry whose `seen` value differs
        /// was re-recorded since and is skipped.
        var expiries = ExpiryHeap()
        var bytes = 0

        /// Drops every id expired at `now`; returns the bytes freed.
        mutating func dropExpired(now: Int64) -> Int {
            var freed = 0
            while let first = self.expiries.first, first.expiresAt <= now {
                self.expiries.removeFirst()
                if self.seen[first.jwtID] == first.expiresAt {
                    self.seen[first.jwtID] = nil
                    freed += first.jwtID.utf8.count + ReplayCache.entryOverheadBytes
                }
            }
            self.bytes -= freed
            return freed
        }
    }

    struct State {
        var windows: [String: Window] = [:]
        var bytes = 0
        /// No window holds an id expiring before this (it may be lower than the truth, never higher), so a cache
        /// at its byte budget scans the windows only when that can free something.
        var earliestExpiry: Int64 = .max
    }

    private let perTokenCapacity: Int
    private let maxBytes: Int
    private let state = Mutex(State())

    /// A cache with at most `perTokenCapacity` live ids per token and about `maxBytes` in total.
    public init(perTokenCapacity: Int = ReplayCache.defaultPerTokenCapacity, maxBytes: Int = ReplayCache.defaultMaxBytes) {
        self.perTokenCapacity = max(1, perTokenCapacity)
        self.maxBytes = max(1, maxBytes)
    }

    /// Records `jwtID` for the token `keyID` until `expiresAt` (Unix seconds), at `now`.
    public func insert(jwtID: String, keyID: String, expiresAt: Int64, now: Int64) -> ReplayOutcome {
        let cost = jwtID.utf8.count + Self.entryOverheadBytes
        return self.state.withLock { state in
            var window = state.windows.removeValue(forKey: keyID) ?? Window()
            defer {
                if window.seen.isEmpty {
                    state.bytes -= window.bytes
                } else {
                    state.windows[keyID] = window
                }
            }
            state.bytes -= window.dropExpired(now: now)
            if window.seen[jwtID] != nil { return .replayed }
            guard window.seen.count < self.perTokenCapacity else { return .windowFull }
            // A window is charged its key id and overhead once, when it first holds an id.
            let windowCost = window.bytes == 0 ? keyID.utf8.count + Self.windowOverheadBytes : 0
            if state.bytes + cost + windowCost > self.maxBytes {
                guard state.earliestExpiry <= now else { return .windowFull }
                Self.dropExpiredEverywhere(&state, now: now)
                state.earliestExpiry = min(state.earliestExpiry, window.expiries.first?.expiresAt ?? .max)
                if state.bytes + cost + windowCost > self.maxBytes { return .windowFull }
            }
            window.seen[jwtID] = expiresAt
            window.expiries.insert((expiresAt, jwtID))
            window.bytes += cost + windowCost
            state.bytes += cost + windowCost
            state.earliestExpiry = min(state.earliestExpiry, expiresAt)
            return .fresh
        }
    }

    /// Forgets every id of `keyID` (the token was revoked or deleted: its JWTs are refused anyway).
    public func remove(keyID: String) {
        self.state.withLock { state in
            if let window = state.windows.removeValue(forKey: keyID) { state.bytes -= window.bytes }
        }
    }

    /// Number of remembered ids over all tokens.
    public var count: Int { self.state.withLock { $0.windows.values.reduce(0) { $0 + $1.seen.count } } }

    /// Bytes charged against `maxBytes` now.
    public var bytesUsed: Int { self.state.withLock { $0.bytes } }

    /// Drops expired ids from every window (the byte budget is reached) and recomputes `earliestExpiry`.
    private static func dropExpiredEverywhere(_ state: inout State, now: Int64) {
        var earliest = Int64.max
        for keyID in Array(state.windows.keys) {
            guard var window = state.windows.removeValue(forKey: keyID) else { continue }
            state.bytes -= window.dropExpired(now: now)
            if window.seen.isEmpty {
                state.bytes -= window.bytes
            } else {
                earliest = min(earliest, window.expiries.first?.expiresAt ?? .max)
                state.windows[keyID] = window
            }
        }
        state.earliestExpiry = earliest
    }
}

/// A binary min-heap of `(expiresAt, jwtID)` by expiry.
struct ExpiryHeap {
    private var items: [(expiresAt: Int64, jwtID: String)] = []

    /// The entry expiring first.
    var first: (expiresAt: Int64, jwtID: String)? { self.items.first }

    /// Number of entries, stale ones included.
    var count: Int { self.items.count }

    mutating func insert(_ item: (expiresAt: Int64, jwtID: String)) {
        self.items.append(item)
        var child = self.items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard self.items[child].expiresAt < self.items[parent].expiresAt else { break }
            self.items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        guard !self.items.isEmpty else { return }
        self.items.swapAt(0, self.items.count - 1)
        self.items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < self.items.count && self.items[left].expiresAt < self.items[smallest].expiresAt { smallest = left }
            if right < self.items.count && self.items[right].expiresAt < self.items[smallest].expiresAt {
                smallest = right
            }
            guard smallest != parent else { return }
            self.items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
