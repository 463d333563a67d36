public import LegateCore
import Synchronization

/// A StateStore in memory with the same semantics as SQLiteStateStore (constraints, ordering, atomic
/// batches, audit sequences); for tests. Nothing survives the process.
public final class InMemoryStateStore: StateStore {
    private struct State {
        var accounts: [String: AccountRecord] = [:]
        var tokens: [String: TokenRecord] = [:]
        var delegates: [String: DelegateRecord] = [:]
        var audit: [AuditRecord] = []
        var metadata: [String: String] = [:]
        var adminKeys: [String: AdminKeyRecord] = [:]
        var profiles: [String: ProfileRecord] = [:]
        var nextSequence: Int64 = 1
        var taskTables = TaskTables()
        var secretTables = SecretTables()
        var nodes: [String: NodeRecord] = [:]
        var controls: [String: NodeControl] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    public init() {}

    /// Reads the task tables under the lock.
    func taskTables<T>(_ body: (TaskTables) -> T) -> T {
        self.state.withLock { body($0.taskTables) }
    }

    /// Applies the batch to a copy of the state and keeps it only if every write succeeded.
    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        try self.state.withLock { (state) throws(StoreError) in
            var draft = state
            for write in writes { try Self.perform(write, on: &draft) }
            state = draft
        }
    }

    private static func perform(_ write: StoreWrite, on state: inout State) throws(StoreError) {
        switch write {
        case .insertAccount(let account):
            guard state.accounts[account.id] == nil else {
                throw .constraint("insert account: UNIQUE constraint failed: accounts.id")
            }
            state.accounts[account.id] = account
        case .insertToken(let token):
            guard state.tokens[token.id] == nil else {
                throw .constraint("insert token: UNIQUE constraint failed: tokens.id")
            }
            guard state.accounts[token.accountID] != nil else {
                throw .constraint("insert token: FOREIGN KEY constraint failed")
            }
            state.tokens[token.id] = token
        case .updateToken(let token):
            guard state.tokens[token.id] != nil else { throw .constraint(ConstraintText.missingToken(token.id)) }
            guard state.accounts[token.accountID] != nil else {
                throw .constraint("update token: FOREIGN KEY constraint failed")
            }
            state.tokens[token.id] = token
        case .deleteToken(let id):
            guard let token = state.tokens[id] else { throw .constraint(ConstraintText.missingToken(id)) }
            guard token.status == .revoked else { throw .constraint(ConstraintText.activeToken(id)) }
            state.tokens[id] = nil
        case .upsertDelegate(let delegate):
            guard state.accounts[delegate.accountID] != nil else {
                throw .constraint("upsert delegate: FOREIGN KEY constraint failed")
            }
            let clash = state.delegates.values.contains {
                $0.id != delegate.id && $0.accountID == delegate.accountID && $0.instanceID == delegate.instanceID
            }
            guard !clash else {
                throw .constraint(
                    "upsert delegate: UNIQUE constraint failed: delegates.account_id, delegates.instance_id")
            }
            state.delegates[delegate.id] = delegate
        case .deleteDelegate(let id):
            guard state.delegates.removeValue(forKey: id) != nil else {
                throw .constraint(ConstraintText.missingDelegate(id))
            }
        case .insertNodeControl(let control):
            guard state.controls[control.id] == nil else {
                throw .constraint("queue node control: UNIQUE constraint failed: node_controls.id")
            }
            state.controls[control.id] = control
        case .recordHeartbeats(let marks):
            for mark in marks { state.delegates[mark.delegateID]?.lastHeartbeatAt = mark.at }
        case .appendAudit(var record):
            record.sequence = state.nextSequence
            state.nextSequence += 1
            state.audit.append(record)
        case .upsertAdminKey(let key):
            guard state.accounts[key.accountID] != nil else {
                throw .constraint("upsert admin key: FOREIGN KEY constraint failed")
            }
            state.adminKeys[key.id] = key
        case .setMetadata(let key, let value):
            state.metadata[key] = value
        case .insertTask, .updateTask, .appendTaskLog:
            try state.taskTables.perform(write, accountExists: { state.accounts[$0] != nil })
        case .upsertProfile(let profile):
            guard state.accounts[profile.accountID] != nil else {
                throw .constraint("upsert profile: FOREIGN KEY constraint failed")
            }
            guard !state.profiles.values.contains(where: {
                $0.id != profile.id && $0.accountID == profile.accountID && $0.name == profile.name
            }) else {
                throw .constraint("upsert profile: UNIQUE constraint failed: profiles.account_id, profiles.name")
            }
            state.profiles[profile.id] = profile
        case .deleteProfile(let id):
            guard state.profiles.removeValue(forKey: id) != nil else {
                throw .constraint(ConstraintText.missingProfile(id))
            }
        case .upsertKeyRing, .putRingKeyCopies, .upsertSecret, .insertSecretVersion, .deleteSecret,
            .replaceSecretVersions:
            try state.secretTables.perform(write, accountExists: { state.accounts[$0] != nil })
        }
    }

    /// The account with this id, if any.
    public func account(id: String) throws(StoreError) -> AccountRecord? { self.state.withLock { $0.accounts[id] } }

    /// All accounts, oldest first.
    public func accounts() throws(StoreError) -> [AccountRecord] {
        self.state.withLock { $0.accounts.values.sorted(by: RecordOrder.accounts) }
    }

    /// The token with this id, if any.
    public func token(id: String) throws(StoreError) -> TokenRecord? { self.state.withLock { $0.tokens[id] } }

    /// Tokens of one account, oldest first.
    public func tokens(accountID: String) throws(StoreError) -> [TokenRecord] {
        self.state.withLock { $0.tokens.values.filter { $0.accountID == accountID }.sorted(by: RecordOrder.tokens) }
    }

    /// Every token, oldest first.
    public func allTokens() throws(StoreError) -> [TokenRecord] {
        self.state.withLock { $0.tokens.values.sorted(by: RecordOrder.tokens) }
    }

    /// The delegate with this id, if any.
    public func delegate(id: String) throws(StoreError) -> DelegateRecord? {
        self.state.withLock { $0.delegates[id] }
    }

    /// The delegate of an account with this instance id, if any.
    public func delegate(accountID: String, instanceID: String) throws(StoreError) -> DelegateRecord? {
        self.state.withLock { state in
            state.delegates.values.first { $0.accountID == accountID && $0.instanceID == instanceID }
        }
    }

    /// Delegates of one account, oldest first.
    public func delegates(accountID: String) throws(StoreError) -> [DelegateRecord] {
        self.state.withLock { state in
            state.delegates.values.filter { $0.accountID == accountID }.sorted(by: RecordOrder.delegates)
        }
    }

    /// Every delegate, oldest first.
    public func allDelegates() throws(StoreError) -> [DelegateRecord] {
        self.state.withLock { $0.delegates.values.sorted(by: RecordOrder.delegates) }
    }

    /// Audit rows, newest first, at most `limit`.
    public func auditRecords(accountID: String?, filter: AuditFilter, limit: Int) throws(StoreError) -> [AuditRecord] {
        guard limit > 0 else { return [] }
        return self.state.withLock { state in
            Array(
                state.audit.reversed().lazy.filter { (accountID == nil || $0.accountID == accountID) && filter.matches($0) }
                    .prefix(limit))
        }
    }

    /// Deletes audit rows older than the retention, oldest first, at most one run's worth of batches.
    public func deleteExpiredAudit(_ retention: AuditRetention, nowMilliseconds: Int64) throws(StoreError) -> Int {
        guard let cutoff = retention.cutoff(nowMilliseconds: nowMilliseconds) else { return 0 }
        let budget = max(1, retention.batchSize) * max(1, retention.maxBatchesPerRun)
        return self.state.withLock { state in
            var deleted = 0
            state.audit.removeAll { record in
                guard deleted < budget, record.at < cutoff else { return false }
                deleted += 1
                return true
            }
            return deleted
        }
    }

    /// A metadata value, if set.
    public func metadata(key: String) throws(StoreError) -> String? { self.state.withLock { $0.metadata[key] } }

    /// The admin API key with this id, if any.
    public func adminKey(id: String) throws(StoreError) -> AdminKeyRecord? { self.state.withLock { $0.adminKeys[id] } }

    /// Admin API keys of one account, oldest first.
    public func adminKeys(accountID: String) throws(StoreError) -> [AdminKeyRecord] {
        self.state.withLock { state in
            state.adminKeys.values.filter { $0.accountID == accountID }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    /// Profiles of one account, by name.
    public func profiles(accountID: String) throws(StoreError) -> [ProfileRecord] {
        self.state.withLock { $0.profiles.values.filter { $0.accountID == accountID }.sorted(by: RecordOrder.profiles) }
    }

    /// Every profile, by account and name.
    public func allProfiles() throws(StoreError) -> [ProfileRecord] {
        self.state.withLock { $0.profiles.values.sorted(by: RecordOrder.profiles) }
    }

    /// Every key ring, by account and name.
    public func allKeyRings() throws(StoreError) -> [KeyRingRecord] { self.state.withLock { $0.secretTables.sortedRings } }

    /// Every sealed ring key copy, by ring, version and delegate.
    public func allRingKeyCopies() throws(StoreError) -> [RingKeyCopyRecord] {
        self.state.withLock { $0.secretTables.sortedCopies }
    }

    /// Every secret, by account and name.
    public func allSecrets() throws(StoreError) -> [SecretRecord] { self.state.withLock { $0.secretTables.sortedSecrets } }

    /// Every secret version, by secret and version.
    public func allSecretVersions() throws(StoreError) -> [SecretVersionRecord] {
        self.state.withLock { $0.secretTables.sortedVersions }
    }

    // MARK: - Nodes

    /// One process only: every task is this node's.
    public func adoptNode(_ nodeID: String) {}

    /// One node per file: nobody to notify.
    public func notify(nodeIDs: [String]) throws(StoreError) {}

    /// One node per file: the poll is enough.
    public func listen(nodeID: String, wake: @escaping @Sendable () -> Void) -> (any NodeNotificationListening)? {
        nil
    }

    /// Inserts the node or renews its lease.
    @discardableResult
    public func renewNode(_ node: NodeRecord) throws(StoreError) -> Bool {
        self.state.withLock { state in
            let existed = state.nodes[node.id] != nil
            state.nodes[node.id] = NodeRecord(
                id: node.id, address: node.address, startedAt: node.startedAt, lastSeenAt: node.lastSeenAt)
            return existed
        }
    }

    /// Every node with its delegate count.
    public func nodes() throws(StoreError) -> [NodeRecord] {
        self.state.withLock { state in
            state.nodes.values.sorted { $0.id < $1.id }.map { node in
                var counted = node
                counted.connectedDelegates = state.delegates.values.filter { $0.nodeID == node.id }.count
                return counted
            }
        }
    }

    /// Removes expired nodes, their sessions and their queued controls at once.
    public func removeExpiredNodes(lastSeenBefore cutoff: Int64, keeping: String, now: Int64) throws(StoreError)
        -> [String]
    {
        self.state.withLock { state in
            let expired = state.nodes.values.filter { $0.lastSeenAt < cutoff && $0.id != keeping }.map(\.id).sorted()
            for id in expired {
                for (delegateID, record) in state.delegates where record.nodeID == id {
                    var cleared = record
                    if cleared.status == .active { cleared.status = .disconnected }
                    cleared.connectedSince = nil
                    cleared.disconnectedAt = now
                    cleared.nodeID = nil
                    state.delegates[delegateID] = cleared
                }
                state.controls = state.controls.filter { $0.value.nodeID != id || $0.value.doneAt != nil }
                state.nodes[id] = nil
            }
            return expired
        }
    }

    /// The order a node applies its queued controls in: delegate announcements after the others, then oldest first.
    private static func controlOrder(_ control: NodeControl) -> (Int, Int64, String) {
        (control.kind.waitsBehindOthers ? 1 : 0, control.createdAt, control.id)
    }

    /// Queued controls of a node, oldest first.
    public func pendingControls(nodeID: String, limit: Int) throws(StoreError) -> [NodeControl] {
        self.state.withLock { state in
            Array(
                state.controls.values.filter { $0.nodeID == nodeID && $0.doneAt == nil }
                    .sorted { Self.controlOrder($0) < Self.controlOrder($1) }.prefix(max(0, limit)))
        }
    }

    /// Writes a control's outcome.
    public func completeControl(_ control: NodeControl) throws(StoreError) {
        self.state.withLock { state in
            guard var stored = state.controls[control.id] else { return }
            stored.doneAt = control.doneAt
            stored.connected = control.connected
            stored.told = control.told
            stored.acknowledged = control.acknowledged
            state.controls[control.id] = stored
        }
    }

    /// Controls by id.
    public func controls(ids: [String]) throws(StoreError) -> [NodeControl] {
        self.state.withLock { state in ids.compactMap { state.controls[$0] } }
    }

    /// Deletes old finished controls.
    public func deleteFinishedControls(before cutoff: Int64) throws(StoreError) -> Int {
        self.state.withLock { state in
            let before = state.controls.count
            state.controls = state.controls.filter { ($0.value.doneAt ?? Int64.max) >= cutoff }
            return before - state.controls.count
        }
    }
}
