import LegateCore
import LegateStore
import LegateWire

// MARK: - Ring and secret changes: validated, stored durably with their audit row, then in the directory.

extension SecretService {
    /// Creates a ring with no key yet; the caller seals the first key to the members the answer lists.
    func createRing(_ request: KeyRingCreateRequest, session: AdminSession) throws(AdminError) -> KeyRingRecord {
        try Self.checkName(request.name, "key ring")
        let wanted = request.memberRule ?? KeyRingMemberRule()
        let rule = RingMemberRule(
            profile: wanted.profile, tags: Array(Set(wanted.tags)).sorted(), tokenID: wanted.tokenID)
        return try self.inFlight.with(
            "ring\u{0}" + session.accountID + "\u{0}" + request.name,
            busy: AdminError.failedPrecondition("key ring \(request.name) is being changed by another call; retry")
        ) { () throws(AdminError) -> KeyRingRecord in
            if self.directory.ring(accountID: session.accountID, name: request.name) != nil {
                throw .alreadyExists("key ring \(request.name) already exists; see legatectl keyring show")
            }
            let now = self.clock.unixMilliseconds()
            let ring = KeyRingRecord(
                id: ManagerServices.newID(prefix: "krg"), accountID: session.accountID, name: request.name,
                scope: session.scope, memberRule: rule, createdAt: now, createdBy: session.actor, updatedAt: now)
            try self.writeDurably(accountID: ring.accountID, [
                .upsertKeyRing(ring),
                .appendAudit(
                    self.auditRow("keyring.create", target: ring.id, detail: "name=\(ring.name) rule=\(rule.summary)",
                        session: session)),
            ])
            self.directory.modify { $0.rings[ring.id] = ring }
            return ring
        }
    }

    /// Replaces a ring's member rule. Delegates it adds get their copy from a member; a member it drops makes a
    /// remaining member rotate the ring key (the membership check runs at once), as any departure does.
    func updateRing(_ request: KeyRingCreateRequest, session: AdminSession) throws(AdminError) -> KeyRingRecord {
        let wanted = request.memberRule ?? KeyRingMemberRule()
        let rule = RingMemberRule(
            profile: wanted.profile, tags: Array(Set(wanted.tags)).sorted(), tokenID: wanted.tokenID)
        let updated = try self.inFlight.with(
            "ring\u{0}" + session.accountID + "\u{0}" + request.name,
            busy: AdminError.failedPrecondition("key ring \(request.name) is being changed by another call; retry")
        ) { () throws(AdminError) -> KeyRingRecord in
            var ring = try self.visibleRing(request.name, session: session)
            let before = ring.memberRule.summary
            ring.memberRule = rule
            ring.updatedAt = self.clock.unixMilliseconds()
            try self.writeDurably(accountID: ring.accountID, [
                .upsertKeyRing(ring),
                .appendAudit(
                    self.auditRow("keyring.update", target: ring.id,
                        detail: "name=\(ring.name) rule=\(rule.summary) previous=\(before)", session: session)),
            ])
            self.directory.modify { $0.rings[ring.id] = ring }
            return ring
        }
        self.reconcileSoon()
        return updated
    }

    /// Stores the first ring key: its public key and the private key sealed to current members. A later version
    /// is a rotation, which only a member can do (every secret's data key must be re-sealed with the old key).
    func setRingKey(_ request: KeyRingSetKeyRequest, session: AdminSession) throws(AdminError) -> KeyRingRecord {
        let ring = try self.visibleRing(request.name, session: session)
        guard ring.ringVersion == 0 else {
            throw .failedPrecondition(
                "key ring \(ring.name) already has key version \(ring.ringVersion); a new version is made by a member "
                    + "(it must re-seal every secret), not uploaded")
        }
        guard request.ringVersion == 1 else {
            throw .invalidArgument("the first ring key is version 1, not \(request.ringVersion)")
        }
        guard request.publicKey.count == Self.publicKeyBytes else {
            throw .invalidArgument("the ring public key must be \(Self.publicKeyBytes) bytes (X25519)")
        }
        guard !request.copies.isEmpty else {
            throw .invalidArgument("no sealed copies: seal the ring key to at least one member")
        }
        let members = Dictionary(self.members(of: ring).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var copies: [RingKeyCopyRecord] = []
        for copy in request.copies {
            guard let member = members[copy.delegateID] else {
                throw .invalidArgument(
                    "delegate \(copy.delegateID) is not a member of key ring \(ring.name); see legatectl keyring show")
            }
            guard copy.deviceKeyFingerprint == DeviceFingerprint.of(member.devicePublicKey) else {
                throw .failedPrecondition(
                    "the copy for delegate \(copy.delegateID) is sealed to device key \(copy.deviceKeyFingerprint), "
                        + "but the delegate now presents \(DeviceFingerprint.of(member.devicePublicKey)); run again")
            }
            guard let sealed = copy.sealed, !sealed.encapsulatedKey.isEmpty, !sealed.ciphertext.isEmpty else {
                throw .invalidArgument("the copy for delegate \(copy.delegateID) is empty")
            }
            copies.append(
                RingKeyCopyRecord(
                    ringID: ring.id, ringVersion: 1, delegateID: copy.delegateID,
                    deviceKeyFingerprint: copy.deviceKeyFingerprint, encapsulatedKey: sealed.encapsulatedKey,
                    ciphertext: sealed.ciphertext))
        }
        var keyed = ring
        keyed.ringVersion = 1
        keyed.publicKey = request.publicKey
        keyed.updatedAt = self.clock.unixMilliseconds()
        try self.writeDurably(accountID: keyed.accountID, [
            .upsertKeyRing(keyed), .putRingKeyCopies(copies),
            .appendAudit(
                self.auditRow(
                    "keyring.key", target: ring.id,
                    detail: "name=\(ring.name) version=1 copies=\(copies.map(\.delegateID).joined(separator: ","))",
                    session: session)),
        ])
        self.directory.modify { state in
            state.rings[keyed.id] = keyed
            for copy in copies {
                state.copies[copy.ringID, default: [:]][copy.delegateID, default: [:]][copy.ringVersion] = copy
            }
        }
        self.refreshRouting(copies.map(\.delegateID))
        self.reconcileSoon()  // members the uploader left out wait for a copy from a member
        return keyed
    }

    /// Stores a secret's first version (`isRotation` false) or its next one, sealed by the caller.
    func saveSecret(_ request: SecretCreateRequest, isRotation: Bool, session: AdminSession) throws(AdminError)
        -> SecretRecord
    {
        try Self.checkName(request.name, "secret")
        return try self.inFlight.with(
            "secret\u{0}" + session.accountID + "\u{0}" + request.name,
            busy: AdminError.failedPrecondition("secret \(request.name) is being changed by another call; retry")
        ) { () throws(AdminError) -> SecretRecord in
            let now = self.clock.unixMilliseconds()
            var secret: SecretRecord
            let expectedVersion: UInt32
            let ring: KeyRingRecord
            if isRotation {
                secret = try self.visibleSecret(request.name, session: session)
                guard let current = self.directory.read({ $0.rings[secret.ringID] }) else {
                    throw .failedPrecondition("the key ring of secret \(secret.name) is gone")
                }
                ring = current
                guard request.secretID == secret.id else {
                    throw .invalidArgument("secret \(secret.name) has id \(secret.id), not \(request.secretID)")
                }
                expectedVersion = (self.directory.read { $0.versions[secret.id]?.last?.version } ?? 0) + 1
                secret.updatedAt = now
            } else {
                ring = try self.visibleRing(request.ringName, session: session)
                if self.directory.secret(accountID: session.accountID, name: request.name) != nil {
                    throw .alreadyExists("secret \(request.name) already exists; use legatectl secret rotate")
                }
                guard request.secretID.hasPrefix("sec_"), (5...64).contains(request.secretID.utf8.count),
                    self.directory.read({ $0.secrets[request.secretID] }) == nil
                else { throw .invalidArgument("secret id must be a fresh sec_... id of at most 64 bytes") }
                secret = SecretRecord(
                    id: request.secretID, accountID: session.accountID, name: request.name, ringID: ring.id,
                    scope: session.scope, createdAt: now, createdBy: session.actor, updatedAt: now)
                expectedVersion = 1
            }
            guard !self.isRotating(ring.id) else {
                throw .failedPrecondition(
                    "key ring \(ring.name) is making a new ring key (a member left); retry in a moment")
            }
            guard ring.ringVersion > 0, request.ringVersion == ring.ringVersion else {
                throw .failedPrecondition(
                    "key ring \(ring.name) is at key version \(ring.ringVersion), the value was sealed to "
                        + "\(request.ringVersion); seal it again to the current ring public key")
            }
            guard request.version == expectedVersion else {
                throw .failedPrecondition("the next version of \(request.name) is \(expectedVersion), not \(request.version)")
            }
            guard let envelope = request.envelope, let sealedKey = envelope.sealedDataKey, !envelope.valueNonce.isEmpty,
                !envelope.valueCiphertext.isEmpty, !sealedKey.encapsulatedKey.isEmpty, !sealedKey.ciphertext.isEmpty
            else { throw .invalidArgument("the sealed value is incomplete (nonce, ciphertext and sealed data key)") }
            guard envelope.valueCiphertext.count <= Self.maxSealedValueBytes else {
                throw .invalidArgument("secret values are at most 64 KiB; store a larger one elsewhere and its key here")
            }
            let version = SecretVersionRecord(
                secretID: secret.id, version: request.version, ringVersion: request.ringVersion,
                allowedTaskTypes: request.policy?.allowedTaskTypes ?? [], envelope: envelope.protoBytes(), createdAt: now)
            try self.writeDurably(accountID: secret.accountID, [
                .upsertSecret(secret), .insertSecretVersion(version),
                .appendAudit(
                    self.auditRow(
                        isRotation ? "secret.rotate" : "secret.create", target: secret.id,
                        detail: "name=\(secret.name) version=\(version.version) ring=\(ring.name)", session: session)),
            ])
            self.directory.modify { state in
                state.secrets[secret.id] = secret
                state.versions[secret.id, default: []].append(version)
            }
            return secret
        }
    }

    /// Deletes a secret and every version.
    func deleteSecret(name: String, session: AdminSession) throws(AdminError) {
        let secret = try self.visibleSecret(name, session: session)
        try self.writeDurably(accountID: secret.accountID, [
            .deleteSecret(id: secret.id),
            .appendAudit(self.auditRow("secret.delete", target: secret.id, detail: "name=\(name)", session: session)),
        ])
        self.directory.modify { state in
            state.secrets[secret.id] = nil
            state.versions[secret.id] = nil
        }
    }
}
