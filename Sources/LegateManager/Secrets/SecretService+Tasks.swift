import LegateCore
import LegateWire

// MARK: - Secrets of tasks: resolved at submission, sealed material per assignment, openings reported.

extension SecretService: TaskSecretSource {
    /// Environment variable names a task may set: a letter or `_`, then letters, digits and `_`.
    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 128 else { return false }
        let isLetter: (UInt8) -> Bool = { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || $0 == 0x5F }
        return isLetter(first) && name.utf8.allSatisfy { isLetter($0) || (0x30...0x39).contains($0) }
    }

    /// The secrets a submitted spec names, resolved to ids and rings; refused without `secret:use`.
    func resolve(_ uses: [SecretUse], session: AdminSession, room: Int) throws(AdminError) -> [TaskSecretUse] {
        guard session.allows(.secretUse) else {
            throw .permissionDenied(
                "admin key \(session.keyID) lacks permission secret:use, needed to run tasks with secrets; "
                    + "ask an account admin for it")
        }
        guard uses.count <= Self.maxSecretsPerTask else {
            throw .invalidArgument("a task may use at most \(Self.maxSecretsPerTask) secrets, not \(uses.count)")
        }
        var names: Set<String> = []
        var resolved: [TaskSecretUse] = []
        var sealedBytes = 0
        for use in uses {
            guard Self.isEnvironmentName(use.envName) else {
                throw .invalidArgument("\(use.envName) is not an environment variable name (e.g. DB_PASSWORD)")
            }
            guard names.insert(use.envName).inserted else {
                throw .invalidArgument("environment variable \(use.envName) is given twice")
            }
            let secret = try self.visibleSecret(use.secretName, session: session)
            guard let ring = self.directory.read({ $0.rings[secret.ringID] }), ring.ringVersion > 0 else {
                throw .failedPrecondition("the key ring of secret \(secret.name) has no key yet")
            }
            // The envelope, plus the ring key copy, ids and field headers that travel with it.
            sealedBytes += self.directory.read { $0.versions[secret.id]?.last?.envelope.count ?? 0 } + 512
            guard sealedBytes <= min(room, Self.maxSealedBytesPerTask) else {
                throw .invalidArgument(
                    "the secrets of one task are at most \(Self.maxSealedBytesPerTask >> 10) KiB sealed (they travel in "
                        + "its assignment); use fewer or smaller secrets")
            }
            resolved.append(
                TaskSecretUse(
                    envName: use.envName, secretName: secret.name, secretID: secret.id, ringID: ring.id,
                    ringName: ring.name))
        }
        return resolved
    }

    /// The sealed material of a task's secrets for the delegate it was assigned to: the newest version of each,
    /// with the delegate's copy of the ring key that version is sealed to. When a piece is missing (the secret was
    /// deleted meanwhile) only the names go: the delegate then refuses the attempt naming the secret.
    func assignmentSecrets(for task: TaskRecord, delegateID: String) -> [TaskSecret] {
        let secrets = task.secrets.map { use in
            self.directory.read { state -> TaskSecret in
                var secret = TaskSecret()
                secret.envName = use.envName
                secret.secretID = use.secretID
                secret.secretName = use.secretName
                secret.ringID = use.ringID
                guard let version = state.versions[use.secretID]?.last,
                    let copy = state.copies[use.ringID]?[delegateID]?[version.ringVersion],
                    let envelope = try? SecretEnvelopeData(protoBytes: version.envelope)
                else { return secret }
                secret.version = version.version
                secret.ringVersion = version.ringVersion
                secret.policy = SecretPolicyInfo(allowedTaskTypes: version.allowedTaskTypes)
                secret.envelope = envelope
                secret.ringKeyCopy = SealedBox(encapsulatedKey: copy.encapsulatedKey, ciphertext: copy.ciphertext)
                return secret
            }
        }
        self.sent.withLock { $0.note(secrets, taskID: task.id, attempt: task.attempt) }
        return secrets
    }
}
