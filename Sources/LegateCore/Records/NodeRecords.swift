/// One manager process sharing the store with others: who it is, where delegates reach it, and its lease.
public struct NodeRecord: Sendable, Equatable {
    /// Node identifier (stable per data directory unless set with `--node-id`).
    public var id: String
    /// The `host:port` delegates are told to use for this node.
    public var address: String
    /// When the node started, Unix milliseconds.
    public var startedAt: Int64
    /// The node's last lease renewal, Unix milliseconds; a node not renewed within the lease is removed.
    public var lastSeenAt: Int64
    /// Delegates whose session record names this node (filled by reads; ignored on writes).
    public var connectedDelegates: Int

    /// Creates a node record.
    public init(id: String, address: String, startedAt: Int64, lastSeenAt: Int64, connectedDelegates: Int = 0) {
        self.id = id
        self.address = address
        self.startedAt = startedAt
        self.lastSeenAt = lastSeenAt
        self.connectedDelegates = connectedDelegates
    }
}

/// What a control message asks the receiving node to do with its caches and its connected delegates.
public enum NodeControlKind: String, Sendable, Equatable, CaseIterable {
    /// A token was revoked: refuse it and tell its delegates to self-destruct.
    case tokenRevoked = "token.revoked"
    /// A token was created, changed or deleted: reload it from the store.
    case tokenChanged = "token.changed"
    /// A token was rotated (the detail names the successor): reload both and push the successor's value to the
    /// delegates on the old one.
    case tokenRotated = "token.rotated"
    /// A delegate was registered for the first time, approved or rejected: reload its record, and tell it the
    /// decision when it is connected here.
    case delegateChanged = "delegate.changed"
    /// A delegate was deleted: forget it and tell it to self-destruct when connected here.
    case delegateDeleted = "delegate.deleted"
    /// A profile was created, changed or deleted: reload the account's profiles.
    case profileChanged = "profile.changed"
    /// A key ring, ring key copy or secret of the account (the subject) changed: reload the secrets directory,
    /// tell the task board which rings the delegates connected here hold, and check the rings' membership.
    case secretsChanged = "secrets.changed"

    /// Whether the receiver applies it after the other queued kinds: a delegate's first registration is announced
    /// to every node, so thousands can be queued after a reconnect wave, and a revoke or rotation queued behind
    /// them would wait seconds. Applying a reload later is safe: it reads the record's current state.
    public var waitsBehindOthers: Bool { self == .delegateChanged }
}

/// A control message from one node to another, written in the transaction of the change it announces; the
/// receiver applies it and writes back what it reached.
public struct NodeControl: Sendable, Equatable {
    /// Identifier of the message.
    public var id: String
    /// The node that must apply it.
    public var nodeID: String
    /// What to do.
    public var kind: NodeControlKind
    /// The token, delegate or account it concerns.
    public var subject: String
    /// Free text the receiver passes on (a revoke or rejection reason).
    public var detail: String
    /// When it was written, Unix milliseconds.
    public var createdAt: Int64
    /// When the receiver finished with it, Unix milliseconds; nil while it is queued.
    public var doneAt: Int64?
    /// Connected delegates it concerned on the receiver.
    public var connected: Int
    /// Of those, how many were sent the push.
    public var told: Int
    /// Of those, how many acknowledged it.
    public var acknowledged: Int

    /// Creates a queued control message.
    public init(
        id: String, nodeID: String, kind: NodeControlKind, subject: String, detail: String = "", createdAt: Int64,
        doneAt: Int64? = nil, connected: Int = 0, told: Int = 0, acknowledged: Int = 0
    ) {
        self.id = id
        self.nodeID = nodeID
        self.kind = kind
        self.subject = subject
        self.detail = detail
        self.createdAt = createdAt
        self.doneAt = doneAt
        self.connected = connected
        self.told = told
        self.acknowledged = acknowledged
    }
}
