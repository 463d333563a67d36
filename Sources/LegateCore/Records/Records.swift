// Domain records persisted by LegateStore. Pure values: no clock, no I/O.
// Wall-clock times are Int64 Unix milliseconds, passed in by the caller.

/// An account: the tenant that owns tokens, delegates and audit rows.
public struct AccountRecord: Sendable, Equatable, Codable {
    /// Stable account identifier.
    public var id: String
    /// Human-readable account name.
    public var name: String
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64

    /// Creates an account record.
    public init(id: String, name: String, createdAt: Int64) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// Lifecycle of a delegate token; only revoked tokens may be deleted.
public enum TokenStatus: String, Sendable, Equatable, Codable, CaseIterable {
    /// The token authenticates delegates.
    case active
    /// The token is refused from now on, also after a restart.
    case revoked
}

/// A delegate token; its value is stored only sealed under the manager master key.
public struct TokenRecord: Sendable, Equatable, Codable {
    /// Token identifier (the `kid` of delegate JWTs).
    public var id: String
    /// Owning account.
    public var accountID: String
    /// Human-readable token name.
    public var name: String
    /// Scope: `account`, `org/<id>` or `project/<org>/<id>`.
    public var scope: String
    /// The token value encrypted under the master key; the store never sees plaintext.
    public var sealedValue: [UInt8]
    /// Active or revoked.
    public var status: TokenStatus
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64
    /// Who created the token (an actor string such as `admin:key-id`).
    public var createdBy: String
    /// Revocation time, Unix milliseconds, when revoked.
    public var revokedAt: Int64?
    /// Optional expiry, Unix milliseconds.
    public var expiresAt: Int64?
    /// Last time a delegate authenticated with it, Unix milliseconds.
    public var lastUsedAt: Int64?

    /// Creates a token record.
    public init(
        id: String, accountID: String, name: String, scope: String, sealedValue: [UInt8], status: TokenStatus,
        createdAt: Int64, createdBy: String, revokedAt: Int64? = nil, expiresAt: Int64? = nil,
        lastUsedAt: Int64? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.scope = scope
        self.sealedValue = sealedValue
        self.status = status
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
    }
}

/// Registration status of a delegate; whether it is connected is tracked separately.
public enum DelegateStatus: String, Sendable, Equatable, Codable, CaseIterable {
    /// Registered and eligible for tasks.
    case active
    /// Waiting for approval: connected, heartbeating, no tasks.
    case pending
    /// Missed heartbeats beyond the grace period.
    case disconnected
    /// Rejected by an admin; refused from then on.
    case rejected
    /// Told SELF_DESTRUCT (its token was revoked) and gone; kept for the record until pruned. A delegate that
    /// registers again with a valid token is active again under the same id.
    case destroyed
}

/// A registered delegate instance.
public struct DelegateRecord: Sendable, Equatable, Codable {
    /// Delegate identifier assigned by the manager.
    public var id: String
    /// Owning account.
    public var accountID: String
    /// Instance identifier chosen by the delegate (JWT `iss`); unique per account.
    public var instanceID: String
    /// Delegate name.
    public var name: String
    /// Host name reported at registration.
    public var hostname: String
    /// Peer IP address seen at registration.
    public var ipAddress: String
    /// Delegate software version.
    public var version: String
    /// Selector tags used for task routing.
    public var tags: [String]
    /// Task types the delegate can run.
    public var taskTypes: [String]
    /// Profile name the delegate registered with.
    public var profile: String
    /// Token the delegate authenticates with.
    public var tokenID: String
    /// Registration status.
    public var status: DelegateStatus
    /// First registration time, Unix milliseconds.
    public var firstSeenAt: Int64
    /// Start of the current connection, Unix milliseconds.
    public var connectedSince: Int64?
    /// Last accepted heartbeat, Unix milliseconds.
    public var lastHeartbeatAt: Int64?
    /// When it was last marked disconnected, Unix milliseconds.
    public var disconnectedAt: Int64?
    /// Why an admin (or the expiry) rejected it, or the note given with an approval.
    public var decisionReason: String?
    /// Pending only: when the registration is rejected unless decided before, Unix milliseconds.
    public var pendingExpiresAt: Int64?
    /// The X25519 device public key it presented (secrets are sealed to it); empty when it presented none.
    public var devicePublicKey: [UInt8] = []
    /// The manager node holding the delegate's connection; nil while it is not connected.
    public var nodeID: String?

    /// Creates a delegate record.
    public init(
        id: String, accountID: String, instanceID: String, name: String, hostname: String, ipAddress: String,
        version: String, tags: [String], taskTypes: [String], profile: String, tokenID: String,
        status: DelegateStatus, firstSeenAt: Int64, connectedSince: Int64? = nil, lastHeartbeatAt: Int64? = nil,
        disconnectedAt: Int64? = nil, decisionReason: String? = nil, pendingExpiresAt: Int64? = nil,
        nodeID: String? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.instanceID = instanceID
        self.name = name
        self.hostname = hostname
        self.ipAddress = ipAddress
        self.version = version
        self.tags = tags
        self.taskTypes = taskTypes
        self.profile = profile
        self.tokenID = tokenID
        self.status = status
        self.firstSeenAt = firstSeenAt
        self.connectedSince = connectedSince
        self.lastHeartbeatAt = lastHeartbeatAt
        self.disconnectedAt = disconnectedAt
        self.decisionReason = decisionReason
        self.pendingExpiresAt = pendingExpiresAt
        self.nodeID = nodeID
    }
}

/// One audit row: who did what to which target, when, and how it ended. Never holds a token, JWT or key.
public struct AuditRecord: Sendable, Equatable, Codable {
    /// Sequence number assigned by the store; 0 when new.
    public var sequence: Int64
    /// Event time, Unix milliseconds.
    public var at: Int64
    /// Account concerned; empty when unknown (e.g. an unauthenticated peer).
    public var accountID: String
    /// Actor: `admin:key-id`, `delegate:<id>`, `system`, `peer:1.2.3.4`.
    public var actor: String
    /// Action name such as `token.create` or `auth.failure`.
    public var action: String
    /// Target of the action (an id).
    public var target: String
    /// `ok`, `denied` or error text.
    public var outcome: String
    /// Free-form detail; never a secret.
    public var detail: String

    /// Creates an audit record.
    public init(
        sequence: Int64 = 0, at: Int64, accountID: String, actor: String, action: String, target: String,
        outcome: String, detail: String = ""
    ) {
        self.sequence = sequence
        self.at = at
        self.accountID = accountID
        self.actor = actor
        self.action = action
        self.target = target
        self.outcome = outcome
        self.detail = detail
    }
}

/// A heartbeat time to persist for one delegate (heartbeats are persisted in batches).
public struct HeartbeatMark: Sendable, Equatable, Codable {
    /// Delegate that heartbeated.
    public var delegateID: String
    /// Heartbeat time, Unix milliseconds.
    public var at: Int64

    /// Creates a heartbeat mark.
    public init(delegateID: String, at: Int64) {
        self.delegateID = delegateID
        self.at = at
    }
}

/// A store write as data; a batch of them is applied in one transaction.
public enum StoreWrite: Sendable, Equatable {
    /// Insert a new account; fails if the id exists.
    case insertAccount(AccountRecord)
    /// Insert a new token; fails if the id exists or the account does not.
    case insertToken(TokenRecord)
    /// Replace an existing token; fails if it does not exist.
    case updateToken(TokenRecord)
    /// Delete a revoked token; fails if missing or still active.
    case deleteToken(id: String)
    /// Insert or replace a delegate; fails if its account does not exist or (account, instance) is taken.
    case upsertDelegate(DelegateRecord)
    /// Delete a delegate; fails if missing.
    case deleteDelegate(id: String)
    /// Set last heartbeat times; marks for unknown delegates are skipped (deleted meanwhile).
    case recordHeartbeats([HeartbeatMark])
    /// Append an audit row; the store assigns its sequence.
    case appendAudit(AuditRecord)
    /// Insert or replace an admin API key; fails if its account does not exist.
    case upsertAdminKey(AdminKeyRecord)
    /// Set a metadata key (e.g. master key fingerprint, schema notes).
    case setMetadata(key: String, value: String)
    /// Insert a new task; fails if the id exists, or its idempotency key is taken in its account.
    case insertTask(TaskRecord)
    /// Update a task's state (everything but the immutable request); fails if it does not exist.
    case updateTask(TaskRecord)
    /// Append a log chunk to a task attempt.
    case appendTaskLog(TaskLogRecord)
    /// Insert or replace a profile; fails if its account does not exist or (account, name) is taken.
    case upsertProfile(ProfileRecord)
    /// Delete a profile; fails if missing.
    case deleteProfile(id: String)
    /// Insert or replace a key ring; fails if its account does not exist or (account, name) is taken.
    case upsertKeyRing(KeyRingRecord)
    /// Store sealed ring key copies (replacing one for the same ring, version and delegate).
    case putRingKeyCopies([RingKeyCopyRecord])
    /// Insert or replace a secret; fails if its account does not exist or (account, name) is taken.
    case upsertSecret(SecretRecord)
    /// Insert a new secret version; fails if that version exists.
    case insertSecretVersion(SecretVersionRecord)
    /// Delete a secret and all its versions; fails if missing.
    case deleteSecret(id: String)
    /// Replace the ring version and envelope of existing secret versions (a ring key rotation re-sealed them).
    case replaceSecretVersions([SecretVersionRecord])
    /// Queue a control message for another manager node, in the same transaction as the change it announces.
    case insertNodeControl(NodeControl)
}
