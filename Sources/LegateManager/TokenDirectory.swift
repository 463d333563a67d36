import LegateAuth
import LegateCore
import Synchronization

/// The manager's in-memory view of delegate tokens: the JWT key resolver every event loop reads.
///
/// Reads happen on a JWT-cache miss only (once per new JWT), so a `Mutex` with a dictionary lookup inside
/// is cheap enough; writes (create, revoke) are rare admin actions.
public final class TokenDirectory: JWTKeyResolver, Sendable {
    /// What the directory knows of one token.
    public struct Entry: Sendable {
        /// Token id (the JWT `kid`).
        public let tokenID: String
        /// Owning account (must equal the JWT `sub`).
        public let accountID: String
        /// Display name.
        public let name: String
        /// Active or revoked.
        public var status: TokenStatus
        /// Precomputed HMAC key for the token value.
        public let key: HMACKey
        /// Automatic revocation time, Unix milliseconds, if any.
        public let expiresAt: Int64?
        /// Where delegates on this token serve (`account`, `org/<id>`, `project/<org>/<id>`).
        public let scope: Scope
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Creates an empty directory.
    public init() {}

    /// Adds or replaces a token.
    public func upsert(record: TokenRecord, token: DelegateToken) {
        let entry = Entry(
            tokenID: record.id, accountID: record.accountID, name: record.name, status: record.status,
            key: token.hmacKey, expiresAt: record.expiresAt, scope: (try? Scope(parsing: record.scope)) ?? .account)
        self.entries.withLock { $0[record.id] = entry }
    }

    /// Marks a token revoked; resolution fails from now on. Returns false if unknown.
    @discardableResult
    public func markRevoked(tokenID: String) -> Bool {
        self.entries.withLock { entries in
            guard entries[tokenID] != nil else { return false }
            entries[tokenID]?.status = .revoked
            return true
        }
    }

    /// Forgets a token entirely (deleted).
    public func remove(tokenID: String) {
        _ = self.entries.withLock { $0.removeValue(forKey: tokenID) }
    }

    /// The entry for `tokenID`, active or not.
    public func entry(tokenID: String) -> Entry? {
        self.entries.withLock { $0[tokenID] }
    }

    /// Active tokens whose expiry is at or before `now` (Unix ms).
    public func expiredTokenIDs(now: Int64) -> [String] {
        self.entries.withLock { entries in
            entries.values.filter { $0.status == .active && ($0.expiresAt.map { $0 <= now } ?? false) }.map(\.tokenID)
        }
    }

    /// Active tokens that have an expiry, for the metrics endpoint.
    var expiringEntries: [Entry] {
        self.entries.withLock { $0.values.filter { $0.status == .active && $0.expiresAt != nil } }
    }

    /// Number of known tokens.
    public var count: Int {
        self.entries.withLock { $0.count }
    }

    /// JWT key resolution: only active tokens resolve.
    public func resolveKey(keyID: Substring) -> ResolvedKey? {
        self.entries.withLock { entries -> ResolvedKey? in
            guard let entry = entries[String(keyID)], entry.status == .active else { return nil }
            return ResolvedKey(key: entry.key, accountID: entry.accountID)
        }
    }
}
