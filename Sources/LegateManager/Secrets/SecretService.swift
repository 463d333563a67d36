import Dispatch
import LegateCore
import LegateNet
import LegateStore
import LegateWire
import Synchronization

/// Key rings and secrets: stores what admins sealed on their machines and hands each member its sealed copy. The
/// manager holds public keys and ciphertext only; nothing here can open a secret. Blocking: call it off the loops.
final class SecretService: Sendable {
    let directory = SecretDirectory()
    let registry: DelegateRegistry
    let tokens: TokenDirectory
    let writer: StoreWriter
    let audit: AuditService
    let clock: any ServiceClock
    let tasks: TaskService
    /// This node among those sharing the store: every change is announced to the others.
    let cluster: NodeCluster
    /// The store the directory is reloaded from when another node announces a change.
    let store: any StateStore
    /// Ring and secret names (per account) a change is writing now.
    let inFlight = Reservations()
    /// Share and rotation work asked of members, by ring id.
    let ringWork = Mutex<[String: RingWorkInFlight]>([:])
    /// Membership reconciliation and members' answers run here, one at a time, off the loops.
    let workQueue = DispatchQueue(label: "legate.secrets")
    /// A reconciliation is queued.
    let reconcileQueued = Atomic<Bool>(false)
    /// Membership checks asked for (by events and the safety pass) while some ring exists.
    let checksRequested = Atomic<Int>(0)
    /// When the last periodic safety pass was asked for.
    let lastSafetyPass = Mutex<ContinuousClock.Instant?>(nil)
    /// The secret versions each recent attempt was sent, so an opening report can be checked against them.
    let sent = Mutex(SentSecretVersions())

    /// Longest ring or secret name.
    static let maxNameBytes = 128
    /// Size of an X25519 public key.
    static let publicKeyBytes = 32
    /// Largest sealed value (64 KiB of value plus the AEAD tag): every secret of a task travels in its TASK_ASSIGN.
    static let maxSealedValueBytes = (64 << 10) + 16
    /// Most secrets one task may use.
    static let maxSecretsPerTask = 16
    /// Most sealed bytes of one task's secrets, so its TASK_ASSIGN fits a frame beside the largest payload.
    static let maxSealedBytesPerTask = 256 << 10

    /// Creates the service; `load` fills it from the store.
    init(
        registry: DelegateRegistry, tokens: TokenDirectory, writer: StoreWriter, audit: AuditService,
        clock: any ServiceClock, tasks: TaskService, cluster: NodeCluster, store: any StateStore
    ) {
        self.registry = registry
        self.tokens = tokens
        self.writer = writer
        self.audit = audit
        self.clock = clock
        self.tasks = tasks
        self.cluster = cluster
        self.store = store
    }

    // MARK: - Membership

    /// The ring's members now: approved delegates matching its rule, on a live token, with a device key.
    func members(of ring: KeyRingRecord) -> [DelegateRecord] {
        self.registry.records(accountID: ring.accountID).filter { self.isMember($0, of: ring) }
    }

    /// Whether `delegate` is a member of `ring` now.
    func isMember(_ delegate: DelegateRecord, of ring: KeyRingRecord) -> Bool {
        delegate.accountID == ring.accountID && ring.memberRule.admits(delegate) && !delegate.devicePublicKey.isEmpty
            && self.tokens.entry(tokenID: delegate.tokenID)?.status == .active
    }

    /// Whether `delegate` holds a copy of the ring's current key sealed to its present device key.
    func holdsCurrentCopy(_ delegate: DelegateRecord, ring: KeyRingRecord) -> Bool {
        guard let copy = self.directory.currentCopy(ringID: ring.id, delegateID: delegate.id) else { return false }
        return copy.deviceKeyFingerprint == DeviceFingerprint.of(delegate.devicePublicKey)
    }

    /// The rings whose current key this delegate holds as a member: where tasks using their secrets may go.
    /// Checks only this delegate against each ring (it runs at every registration of a delegate with a key).
    func ringsHeld(by delegateID: String) -> Set<String> {
        guard let delegate = self.registry.record(id: delegateID) else { return [] }
        let rings = self.directory.read { $0.rings.values.filter { $0.accountID == delegate.accountID } }
        return Set(
            rings.filter { ring in
                ring.ringVersion > 0 && self.isMember(delegate, of: ring) && self.holdsCurrentCopy(delegate, ring: ring)
            }.map(\.id))
    }

    /// Tells the task board which rings each of `delegateIDs` holds now.
    func refreshRouting(_ delegateIDs: [String]) {
        for id in delegateIDs { self.tasks.setRings(self.ringsHeld(by: id), delegateID: id) }
    }

    // MARK: - Admin views

    /// The admin view of a ring: members with fingerprints, who holds the current key, what waits.
    func info(_ ring: KeyRingRecord) -> KeyRingInfo {
        var info = KeyRingInfo()
        info.id = ring.id
        info.name = ring.name
        info.memberRule = Self.wire(ring.memberRule)
        info.ringVersion = ring.ringVersion
        info.publicKey = ring.publicKey
        info.createdAtMs = ring.createdAt
        info.scope = ring.scope.description
        info.secrets = UInt32(clamping: self.directory.read { $0.secrets.values.count { $0.ringID == ring.id } })
        var waiting = 0
        var onlineHolder = false
        for delegate in self.members(of: ring) {
            var member = KeyRingMember()
            member.delegateID = delegate.id
            member.delegateName = delegate.name
            member.devicePublicKey = delegate.devicePublicKey
            member.deviceKeyFingerprint = DeviceFingerprint.of(delegate.devicePublicKey)
            member.hasCopy = self.holdsCurrentCopy(delegate, ring: ring)
            member.connected = self.registry.isConnected(delegate.id)
            if !member.hasCopy { waiting += 1 }
            if member.hasCopy, member.connected { onlineHolder = true }
            info.members.append(member)
        }
        if ring.ringVersion == 0 {
            info.pendingChange =
                info.members.isEmpty
                ? "no ring key yet: no approved delegate with a device key matches the rule"
                : "no ring key yet: upload one (legatectl keyring create seals it to the members)"
        } else {
            let who = onlineHolder ? "an online member is on it" : "waiting for an online member"
            switch self.plan(for: ring) {
            case .settled:
                break
            case .rotate(let departed):
                info.pendingChange =
                    "\(departed.joined(separator: ", ")) left: a new ring key version is due (\(who))"
            case .share:
                info.pendingChange = "\(waiting) member(s) waiting for their copy (\(who))"
            }
        }
        return info
    }

    /// The admin view of a secret: metadata only.
    func info(_ secret: SecretRecord) -> SecretInfo {
        var info = SecretInfo()
        info.id = secret.id
        info.name = secret.name
        info.ringID = secret.ringID
        let (ring, versions) = self.directory.read { ($0.rings[secret.ringID], $0.versions[secret.id] ?? []) }
        info.ringName = ring?.name ?? ""
        info.versions = versions.map(\.version)
        info.version = versions.last?.version ?? 0
        info.ringVersion = versions.last?.ringVersion ?? 0
        var policy = SecretPolicyInfo()
        policy.allowedTaskTypes = versions.last?.allowedTaskTypes ?? []
        info.policy = policy
        info.createdAtMs = secret.createdAt
        info.updatedAtMs = secret.updatedAt
        info.lastUsedAtMs = secret.lastUsedAt ?? 0
        return info
    }

    /// The wire form of a member rule.
    static func wire(_ rule: RingMemberRule) -> KeyRingMemberRule {
        var wire = KeyRingMemberRule()
        wire.profile = rule.profile
        wire.tags = rule.tags
        wire.tokenID = rule.tokenID
        return wire
    }

    /// A visible ring of the session's account by name, or NOT_FOUND.
    func visibleRing(_ name: String, session: AdminSession) throws(AdminError) -> KeyRingRecord {
        guard let ring = self.directory.ring(accountID: session.accountID, name: name),
            session.scope.covers(ring.scope)
        else { throw .notFound("key ring \(name) does not exist; see legatectl keyring list") }
        return ring
    }

    /// A visible secret of the session's account by name, or NOT_FOUND.
    func visibleSecret(_ name: String, session: AdminSession) throws(AdminError) -> SecretRecord {
        guard let secret = self.directory.secret(accountID: session.accountID, name: name),
            session.scope.covers(secret.scope)
        else { throw .notFound("secret \(name) does not exist; see legatectl secret list") }
        return secret
    }

    /// Refuses an empty or too long name.
    static func checkName(_ name: String, _ what: String) throws(AdminError) {
        guard (1...Self.maxNameBytes).contains(name.utf8.count) else {
            throw .invalidArgument("\(what) name must be 1...\(Self.maxNameBytes) bytes")
        }
    }

    /// Writes durably and announces the change to the other nodes, mapping a store failure to the admin error.
    func writeDurably(accountID: String, _ writes: [StoreWrite]) throws(AdminError) {
        do throws(StoreError) {
            try self.writeAnnouncing(writes, accountID: accountID)
        } catch {
            throw error.adminError
        }
    }

    /// An audit row for a secret action by `session`, written with the change.
    func auditRow(_ action: String, target: String, detail: String, session: AdminSession) -> AuditRecord {
        AuditRecord(
            at: self.clock.unixMilliseconds(), accountID: session.accountID, actor: session.actor, action: action,
            target: target, outcome: "ok", detail: detail)
    }
}
