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
/// Thread-safe; one lock, held for a dictionary lookup and insert (a window is swept only when it is full and
/// one of its entries can have expired).
public final class ReplayCache: Sendable {
    /// Live ids one token may hold: 4,096 registrations within a token lifetime (an hour by default).
    public static let defaultPerTokenCapacity = 4096
    /// The byte budget over all tokens: 64 MiB.
    public static let defaultMaxBytes = 64 << 20
    /// Bytes charged per remembered id beyond its own length (dictionary slot, expiry, string header).
    static let entryOverheadBytes = 64
    /// Bytes charged per token window beyond its key id.
    static let windowOverheadBytes = 128

    struct Window {
        var seen: [String: Int64] = [:]
        /// Earliest expiry among `seen`; a full window is only swept once something can have expired.
        var earliestExpiry: Int64 = .max
        var bytes = 0
    }

    struct State {
        var windows: [String: Window] = [:]
        var bytes = 0
        /// Earliest expiry over all windows, so a cache at its byte budget sweeps only when that can help.
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

    /// A cache in which every caller of `insertIfAbsent` shares one window of `capacity` ids.
    public convenience init(capacity: Int) {
        self.init(perTokenCapacity: capacity)
    }

    /// Records `jwtID` for the token `keyID` until `expiresAt` (Unix seconds), at `now`.
    public func insert(jwtID: String, keyID: String, expiresAt: Int64, now: Int64) -> ReplayOutcome {
        let cost = jwtID.utf8.count + Self.entryOverheadBytes
        return self.state.withLock { state in
            var window = state.windows.removeValue(forKey: keyID) ?? Window()
            // A window is charged its key id and overhead once, when it first holds an id.
            let windowCost = window.bytes == 0 ? keyID.utf8.count + Self.windowOverheadBytes : 0
            defer {
                if window.seen.isEmpty {
                    state.bytes -= window.bytes
                } else {
                    state.windows[keyID] = window
                }
            }
            if let existing = window.seen[jwtID], existing > now { return .replayed }
            if window.seen.count >= self.perTokenCapacity {
                guard window.earliestExpiry <= now else { return .windowFull }
                Self.sweep(&window, now: now, total: &state.bytes)
                if window.seen.count >= self.perTokenCapacity { return .windowFull }
            }
            if state.bytes + cost + windowCost > self.maxBytes {
                guard state.earliestExpiry <= now else { return .windowFull }
                Self.sweep(&window, now: now, total: &state.bytes)
                Self.sweepAll(&state, now: now)
                state.earliestExpiry = min(state.earliestExpiry, window.earliestExpiry)
                if state.bytes + cost + windowCost > self.maxBytes { return .windowFull }
            }
            window.bytes += windowCost
            state.bytes += windowCost
            // An expired entry of the same id is overwritten in place; its bytes are already counted.
            if window.seen.updateValue(expiresAt, forKey: jwtID) == nil {
                window.bytes += cost
                state.bytes += cost
            }
            window.earliestExpiry = min(window.earliestExpiry, expiresAt)
            state.earliestExpiry = min(state.earliestExpiry, expiresAt)
            return .fresh
        }
    }

    /// One window shared by every token: true when `jwtID` is fresh. Prefer `insert(jwtID:keyID:expiresAt:now:)`,
    /// which keeps one token from filling the window of all others.
    public func insertIfAbsent(jwtID: String, expiresAt: Int64, now: Int64) -> Bool {
        self.insert(jwtID: jwtID, keyID: "", expiresAt: expiresAt, now: now) == .fresh
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

    private static func sweep(_ window: inout Window, now: Int64, total: inout Int) {
        var freed = 0
        window.seen = window.seen.filter { entry in
            if entry.value > now { return true }
            freed += entry.key.utf8.count + Self.entryOverheadBytes
            return false
        }
        window.bytes -= freed
        total -= freed
        window.earliestExpiry = window.seen.values.min() ?? .max
    }

    private static func sweepAll(_ state: inout State, now: Int64) {
        var earliest = Int64.max
        for keyID in Array(state.windows.keys) {
            guard var window = state.windows.removeValue(forKey: keyID) else { continue }
            if window.earliestExpiry <= now { Self.sweep(&window, now: now, total: &state.bytes) }
            if window.seen.isEmpty {
                state.bytes -= window.bytes
            } else {
                earliest = min(earliest, window.earliestExpiry)
                state.windows[keyID] = window
            }
        }
        state.earliestExpiry = earliest
    }
}
