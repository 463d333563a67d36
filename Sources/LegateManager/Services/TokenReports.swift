import LegateCore

/// What a revoke did (or, with `dryRun`, would do): the counts an operator is shown.
public struct RevokeReport: Sendable, Equatable {
    /// The token concerned.
    public var tokenID: String
    /// True when nothing was changed (impact report only).
    public var dryRun: Bool
    /// True when the token was already revoked before this call.
    public var wasAlreadyRevoked: Bool
    /// Delegates connected with the token when the fan-out started.
    public var connected: Int
    /// SELF_DESTRUCT pushes written to a connection.
    public var told: Int
    /// PUSH_ACKs received before the deadline.
    public var acknowledged: Int
    /// Connected delegates that did not acknowledge (connection closed or deadline passed).
    public var notReached: Int
    /// Time from the revoke call to the last acknowledgement (or the deadline); includes the durable write.
    public var fanOutDuration: Duration
}

/// What a rotation did: the successor token (value shown once) and how many delegates switched to it.
public struct RotateReport: Sendable, Equatable {
    /// The successor token's record.
    public var token: TokenRecord
    /// The successor's value, shown once.
    public var value: String
    /// Delegates connected with the old token when the push started.
    public var connected: Int
    /// TOKEN_ROTATED pushes written.
    public var told: Int
    /// Delegates that switched (PUSH_ACK) before the deadline.
    public var acknowledged: Int
    /// When the old token is revoked automatically (Unix ms): its expiry, set to the end of the overlap.
    public var oldTokenRevokedAt: Int64
}

/// A token as the admin API lists it: the record without its sealed value, plus live usage.
public struct TokenSummary: Sendable, Equatable {
    /// Token id.
    public var id: String
    /// Owning account.
    public var accountID: String
    /// Name, unique within (account, scope).
    public var name: String
    /// Scope text (`account`, `org/<orgID>`, `project/<orgID>/<projectID>`).
    public var scope: String
    /// Active or revoked.
    public var status: TokenStatus
    /// Creation time and creator.
    public var createdAt: Int64
    /// Who created it.
    public var createdBy: String
    /// Revocation time, if revoked.
    public var revokedAt: Int64?
    /// Expiry, if any.
    public var expiresAt: Int64?
    /// Delegates connected with the token right now.
    public var connectedDelegates: Int
    /// Last time a delegate registered or heartbeat with the token (Unix ms; heartbeats land in batches).
    public var lastUsedAt: Int64? = nil
}

extension Scope {
    /// Whether a key at this scope may act on a stored scope text; an unreadable stored scope is covered only by
    /// an account key (fail closed for narrower keys).
    func covers(stored: String) -> Bool {
        guard let scope = try? Scope(parsing: stored) else { return self == .account }
        return self.covers(scope)
    }
}
