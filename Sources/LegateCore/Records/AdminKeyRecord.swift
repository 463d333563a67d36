// Admin API keys. Pure values: no clock, no I/O.

/// An admin API key: the store keeps only the SHA-256 of its secret, never the secret.
public struct AdminKeyRecord: Sendable, Equatable, Codable {
    /// Key identifier (the `<id>` of `lak_<id>_<secret>`).
    public var id: String
    /// Account the key acts in.
    public var accountID: String
    /// Human-readable name.
    public var name: String
    /// Scope: `account`, `org/<id>` or `project/<org>/<id>`.
    public var scope: String
    /// SHA-256 of the secret part (32 bytes).
    public var secretHash: [UInt8]
    /// Granted permissions (`AdminPermission` raw values).
    public var permissions: [String]
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64
    /// Who created it.
    public var createdBy: String
    /// Revocation time, Unix milliseconds, when revoked.
    public var revokedAt: Int64?
    /// Expiry time, Unix milliseconds; nil when the key never expires.
    public var expiresAt: Int64?

    /// Creates an admin key record.
    public init(
        id: String, accountID: String, name: String, scope: String, secretHash: [UInt8], permissions: [String],
        createdAt: Int64, createdBy: String, revokedAt: Int64? = nil, expiresAt: Int64? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.scope = scope
        self.secretHash = secretHash
        self.permissions = permissions
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
    }

    /// Whether the key authenticates at `now` (Unix ms): not revoked and not past its expiry.
    public func isUsable(at now: Int64) -> Bool {
        self.revokedAt == nil && self.expiresAt.map { now < $0 } != false
    }
}
