import Dispatch
import LegateCore
import LegateStore
import LegateWire

// MARK: - Membership changes: the manager only relays. A member that holds the ring key seals it to new members
// (RING_KEY_SHARE); when a holder is no longer a member, a remaining one makes the next ring key version and
// re-seals every secret to it (RING_ROTATE). While no holder is online, the change waits.

/// Ring work asked of a member and not answered yet.
struct RingWorkInFlight: Sendable {
    /// Rotation (true) or share.
    var isRotation: Bool
    /// The member asked.
    var delegateID: String
    /// The ring version the work started from.
    var ringVersion: UInt32
    /// When it was asked (Unix ms); after `ringWorkTimeout` it is asked again.
    var askedAt: Int64
}

/// Why a member's answer to ring work was refused.
struct RingWorkRefusal: Error {
    /// What was wrong, for the member's log and the audit.
    var reason: String
}

/// What a ring needs now.
enum RingPlan: Equatable {
    /// Nothing: every member holds the current key, no non-member does.
    case settled
    /// These members wait for a copy of the current key.
    case share(waiting: [String])
    /// A holder of the current key is no longer a member (or presents another device key).
    case rotate(departed: [String])
}

extension SecretService {
    /// Ring work older than this is asked again (of the same or another member).
    static let ringWorkTimeoutMilliseconds: Int64 = 30_000

    /// What `ring` needs: a rotation when a current-version copy is held by a non-member, else copies for members
    /// still waiting.
    func plan(for ring: KeyRingRecord) -> RingPlan {
        guard ring.ringVersion > 0 else { return .settled }
        let members = Dictionary(self.members(of: ring).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let holders = self.directory.read { state in
            (state.copies[ring.id] ?? [:]).compactMap { id, versions in versions[ring.ringVersion].map { (id, $0) } }
        }
        let departed = holders.filter { id, copy in
            guard let member = members[id] else { return true }
            return copy.deviceKeyFingerprint != DeviceFingerprint.of(member.devicePublicKey)
        }.map(\.0).sorted()
        if !departed.isEmpty { return .rotate(departed: departed) }
        let waiting = members.values.filter { !self.holdsCurrentCopy($0, ring: ring) }.map(\.id).sorted()
        return waiting.isEmpty ? .settled : .share(waiting: waiting)
    }

    /// Between events, rings are checked this often anyway: ring work that timed out is asked again, and a
    /// change no event announced (a member rule matching a delegate whose profile changed) is caught.
    static let safetyPassInterval: Duration = .seconds(10)

    /// Runs the periodic safety pass when `safetyPassInterval` has passed since the last one (cheap otherwise;
    /// called on every tick).
    func safetyPassIfDue() {
        let now = self.clock.monotonicNow()
        let due = self.lastSafetyPass.withLock { last in
            if let previous = last, now - previous < Self.safetyPassInterval { return false }
            last = now
            return true
        }
        if due { self.reconcileSoon() }
    }

    /// Checks every keyed ring soon, once (calls coalesce), on the secrets queue. Called when membership may have
    /// changed (a delegate registered, was decided or deleted, a token was revoked or rotated), when ring work is
    /// answered, and by the safety pass.
    func reconcileSoon() {
        guard self.directory.read({ !$0.rings.isEmpty }) else { return }
        self.checksRequested.add(1, ordering: .relaxed)
        guard !self.reconcileQueued.exchange(true, ordering: .acquiring) else { return }
        self.workQueue.async {
            self.reconcileQueued.store(false, ordering: .releasing)
            self.reconcile()
        }
    }

    /// Asks an online member to do what each ring needs; a ring whose work is in flight waits for the answer.
    func reconcile() {
        let now = self.clock.unixMilliseconds()
        for ring in self.directory.read({ Array($0.rings.values) }) where ring.ringVersion > 0 {
            if let busy = self.ringWork.withLock({ $0[ring.id] }),
                busy.ringVersion == ring.ringVersion, now - busy.askedAt < Self.ringWorkTimeoutMilliseconds,
                self.registry.isConnected(busy.delegateID)
            {
                continue
            }
            let plan = self.plan(for: ring)
            guard plan != .settled else {
                self.ringWork.withLock { $0[ring.id] = nil }
                continue
            }
            let members = self.members(of: ring)
            let holder = members.first { self.registry.isConnected($0.id) && self.holdsCurrentCopy($0, ring: ring) }
            guard let holder, let ownCopy = self.directory.currentCopy(ringID: ring.id, delegateID: holder.id),
                let connection = self.registry.connection(delegateID: holder.id) as? ManagerConnection
            else { continue }  // waits for an online member (keyring show says so)
            let own = SealedBox(encapsulatedKey: ownCopy.encapsulatedKey, ciphertext: ownCopy.ciphertext)
            switch plan {
            case .settled:
                continue
            case .share(let waiting):
                var share = RingKeyShare()
                share.ringID = ring.id
                share.ringVersion = ring.ringVersion
                share.ringPublicKey = ring.publicKey
                share.ownCopy = own
                share.recipients = members.filter { waiting.contains($0.id) }.map(Self.recipient)
                connection.pushRingWork(.ringKeyShare, ringID: ring.id, share)
            case .rotate:
                var rotate = RingRotate()
                rotate.ringID = ring.id
                rotate.ringVersion = ring.ringVersion
                rotate.ringPublicKey = ring.publicKey
                rotate.ownCopy = own
                rotate.recipients = members.map(Self.recipient)
                rotate.secrets = self.secretsToReseal(ring)
                connection.pushRingWork(.ringRotate, ringID: ring.id, rotate)
            }
            let isRotation: Bool = if case .rotate = plan { true } else { false }
            self.ringWork.withLock {
                $0[ring.id] = RingWorkInFlight(
                    isRotation: isRotation, delegateID: holder.id, ringVersion: ring.ringVersion, askedAt: now)
            }
        }
    }

    private static func recipient(_ delegate: DelegateRecord) -> RingRecipient {
        RingRecipient(delegateID: delegate.id, devicePublicKey: delegate.devicePublicKey)
    }

    /// Every version of the ring's secrets sealed to its current key version.
    private func secretsToReseal(_ ring: KeyRingRecord) -> [SecretToReseal] {
        self.directory.read { state in
            state.secrets.values.filter { $0.ringID == ring.id }.sorted { $0.id < $1.id }.flatMap { secret in
                (state.versions[secret.id] ?? []).filter { $0.ringVersion == ring.ringVersion }.compactMap { version in
                    guard let envelope = try? SecretEnvelopeData(protoBytes: version.envelope) else { return nil }
                    return SecretToReseal(
                        secretID: secret.id, version: version.version,
                        policy: SecretPolicyInfo(allowedTaskTypes: version.allowedTaskTypes), envelope: envelope)
                }
            }
        }
    }

    /// Copies a member sealed for the ring's current version: stored when every one is for a current member and
    /// sealed to that member's present device key. Returns why they were refused, if they were.
    func ringKeyShared(_ answer: RingKeyShared, identity: DelegateIdentity) -> String? {
        defer { self.reconcileSoon() }
        guard let busy = self.ringWork.withLock({ $0[answer.ringID] }), !busy.isRotation,
            busy.delegateID == identity.delegateID
        else { return "no ring key share of ring \(answer.ringID) was asked of this delegate" }
        self.ringWork.withLock { $0[answer.ringID] = nil }
        guard answer.error.isEmpty else {
            self.audit.record(
                accountID: identity.accountID, actor: "delegate:\(identity.delegateID)", action: "keyring.share",
                target: answer.ringID, outcome: "failed", detail: answer.error)
            return nil
        }
        guard let ring = self.directory.read({ $0.rings[answer.ringID] }), ring.accountID == identity.accountID,
            ring.ringVersion == answer.ringVersion
        else { return "ring \(answer.ringID) is not at version \(answer.ringVersion)" }
        let copies: [RingKeyCopyRecord]
        switch self.checkedCopies(answer.copies, ring: ring, version: ring.ringVersion) {
        case .failure(let refusal): return refusal.reason
        case .success(let checked): copies = checked
        }
        let row = AuditRecord(
            at: self.clock.unixMilliseconds(), accountID: ring.accountID, actor: "delegate:\(identity.delegateID)",
            action: "keyring.share", target: ring.id, outcome: "ok",
            detail: "name=\(ring.name) version=\(ring.ringVersion) to=\(copies.map(\.delegateID).joined(separator: ","))")
        do throws(StoreError) {
            try self.writeAnnouncing([.putRingKeyCopies(copies), .appendAudit(row)], accountID: ring.accountID)
        } catch {
            return "cannot store the copies: \(error)"
        }
        self.directory.modify { state in
            for copy in copies {
                state.copies[copy.ringID, default: [:]][copy.delegateID, default: [:]][copy.ringVersion] = copy
            }
        }
        self.refreshRouting(copies.map(\.delegateID))
        return nil
    }

    /// Checks copies against the ring's current members: each for a member, sealed to its present device key.
    func checkedCopies(_ copies: [RingKeyCopyInfo], ring: KeyRingRecord, version: UInt32)
        -> Result<[RingKeyCopyRecord], RingWorkRefusal>
    {
        let members = Dictionary(self.members(of: ring).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var checked: [RingKeyCopyRecord] = []
        for copy in copies {
            guard let member = members[copy.delegateID],
                copy.deviceKeyFingerprint == DeviceFingerprint.of(member.devicePublicKey),
                let sealed = copy.sealed, !sealed.encapsulatedKey.isEmpty, !sealed.ciphertext.isEmpty
            else {
                return .failure(
                    RingWorkRefusal(reason: "the copy for \(copy.delegateID) is not for a current member's device key"))
            }
            checked.append(
                RingKeyCopyRecord(
                    ringID: ring.id, ringVersion: version, delegateID: copy.delegateID,
                    deviceKeyFingerprint: copy.deviceKeyFingerprint, encapsulatedKey: sealed.encapsulatedKey,
                    ciphertext: sealed.ciphertext))
        }
        return .success(checked)
    }
}
