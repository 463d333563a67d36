import LegateCore
import LegateStore
import LegateWire

// MARK: - A member's answer to RING_ROTATE: the next ring key version, sealed to the remaining members, and every
// secret version of the ring re-sealed to it. Stored in one transaction, so a ring is never half rotated.

extension SecretService {
    /// Stores a rotation a member made; returns why it was refused, if it was.
    func ringRotated(_ answer: RingRotated, identity: DelegateIdentity) -> String? {
        defer { self.reconcileSoon() }
        guard let busy = self.ringWork.withLock({ $0[answer.ringID] }), busy.isRotation,
            busy.delegateID == identity.delegateID
        else { return "no rotation of ring \(answer.ringID) was asked of this delegate" }
        self.ringWork.withLock { $0[answer.ringID] = nil }
        let actor = "delegate:\(identity.delegateID)"
        guard answer.error.isEmpty else {
            self.audit.record(
                accountID: identity.accountID, actor: actor, action: "keyring.rotate", target: answer.ringID,
                outcome: "failed", detail: answer.error)
            return nil
        }
        // Another node may have stored a secret version of this ring that its announcement has not brought yet:
        // read the store first, so the check below asks for that version to be re-sealed too.
        if !self.cluster.cachedPeers.isEmpty { try? self.directory.load(from: self.store) }
        guard var ring = self.directory.read({ $0.rings[answer.ringID] }), ring.accountID == identity.accountID,
            ring.ringVersion == answer.fromVersion
        else { return "ring \(answer.ringID) is not at version \(answer.fromVersion)" }
        guard answer.publicKey.count == Self.publicKeyBytes else { return "the new ring public key is not 32 bytes" }
        let newVersion = answer.fromVersion + 1
        let copies: [RingKeyCopyRecord]
        switch self.checkedCopies(answer.copies, ring: ring, version: newVersion) {
        case .failure(let refusal): return refusal.reason
        case .success(let checked): copies = checked
        }
        guard copies.contains(where: { $0.delegateID == identity.delegateID }) else {
            return "the rotating member sealed no copy for itself"
        }
        let current = self.directory.read { state in
            state.secrets.values.filter { $0.ringID == ring.id }.flatMap { state.versions[$0.id] ?? [] }
                .filter { $0.ringVersion == answer.fromVersion }
        }
        let resealed = Dictionary(
            answer.secrets.map { ("\($0.secretID)/\($0.version)", $0) }, uniquingKeysWith: { first, _ in first })
        var updated: [SecretVersionRecord] = []
        for version in current {
            guard let new = resealed["\(version.secretID)/\(version.version)"], let envelope = new.envelope,
                (new.policy?.allowedTaskTypes ?? []) == version.allowedTaskTypes
            else { return "secret \(version.secretID) version \(version.version) was not re-sealed" }
            var next = version
            next.ringVersion = newVersion
            next.envelope = envelope.protoBytes()
            updated.append(next)
        }
        ring.ringVersion = newVersion
        ring.publicKey = answer.publicKey
        ring.updatedAt = self.clock.unixMilliseconds()
        let row = AuditRecord(
            at: ring.updatedAt, accountID: ring.accountID, actor: actor, action: "keyring.rotate", target: ring.id,
            outcome: "ok",
            detail: "name=\(ring.name) version=\(newVersion) members=\(copies.map(\.delegateID).joined(separator: ",")) "
                + "secret_versions=\(updated.count)")
        do throws(StoreError) {
            try self.writeAnnouncing(
                [.upsertKeyRing(ring), .putRingKeyCopies(copies), .replaceSecretVersions(updated), .appendAudit(row)],
                accountID: ring.accountID)
        } catch {
            return "cannot store the rotation: \(error)"
        }
        let formerHolders = self.directory.modify { state -> [String] in
            let former = Array((state.copies[ring.id] ?? [:]).keys)
            state.rings[ring.id] = ring
            for copy in copies {
                state.copies[copy.ringID, default: [:]][copy.delegateID, default: [:]][copy.ringVersion] = copy
            }
            for version in updated {
                guard let index = state.versions[version.secretID]?.firstIndex(where: { $0.version == version.version })
                else { continue }
                state.versions[version.secretID]?[index] = version
            }
            return former
        }
        self.refreshRouting(Array(Set(formerHolders + copies.map(\.delegateID))))
        return nil
    }

    /// Whether a rotation of the ring is waiting for its member's answer (new secret versions wait for it).
    func isRotating(_ ringID: String) -> Bool {
        self.ringWork.withLock { $0[ringID]?.isRotation ?? false }
    }
}
