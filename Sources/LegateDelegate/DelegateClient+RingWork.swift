import Dispatch
import LegateNet
import LegateSecrets
import LegateWire

// MARK: - Key ring membership work the manager asks of a member: it relays ciphertext only, so sharing a ring key
// with a new member and making a new ring key after one left happen here, on a member.

extension DelegateClient {
    /// RING_KEY_SHARE or RING_ROTATE: do the work off the loop (a rotation re-seals every secret of the ring), then
    /// answer on the loop with call 8 or 9 (an error text when it cannot).
    func ringWorkReceived(_ frame: Frame, on connection: Connection) {
        guard let deviceKey = self.configuration.deviceKey, let delegateID = self.delegateID else { return }
        let kind = PushKind(rawValue: frame.method)
        let payload = frame.payload
        DispatchQueue.global(qos: .utility).async {
            switch kind {
            case .ringKeyShare:
                guard let request = try? RingKeyShare(protoBytes: payload) else { return }
                let answer = RingWork.share(request, deviceKey: deviceKey, delegateID: delegateID)
                let event = DelegateTaskEvent.ringKeySealed(
                    ringID: request.ringID, ringVersion: request.ringVersion, rotated: false,
                    recipients: answer.copies.map { "\($0.delegateID) \($0.deviceKeyFingerprint)" }, error: answer.error)
                self.loop.execute { self.finishRingWork(event, .ringKeyShared, answer, on: connection) }
            case .ringRotate:
                guard let request = try? RingRotate(protoBytes: payload) else { return }
                let answer = RingWork.rotate(request, deviceKey: deviceKey, delegateID: delegateID)
                let event = DelegateTaskEvent.ringKeySealed(
                    ringID: request.ringID, ringVersion: request.ringVersion + 1, rotated: true,
                    recipients: answer.copies.map { "\($0.delegateID) \($0.deviceKeyFingerprint)" }, error: answer.error)
                self.loop.execute { self.finishRingWork(event, .ringRotated, answer, on: connection) }
            default:
                return
            }
        }
    }

    private func finishRingWork(
        _ event: DelegateTaskEvent, _ method: CallMethod, _ answer: some ProtoMessage, on connection: Connection
    ) {
        self.emitTask(event)
        self.sendRingWorkAnswer(method, answer, on: connection)
    }

    private func sendRingWorkAnswer(_ method: CallMethod, _ message: some ProtoMessage, on connection: Connection) {
        guard connection === self.connection, let streamID = self.machine.allocateCallStreamID() else { return }
        self.send(.request, method: method.rawValue, streamID: streamID, message: message)
    }
}

/// The member's side of key ring changes, pure apart from key generation: open this member's copy (checking it
/// holds the ring public key the manager names), then seal to the recipients.
public enum RingWork {
    /// Seals this member's ring key to each recipient.
    public static func share(_ request: RingKeyShare, deviceKey: X25519PrivateKey, delegateID: String) -> RingKeyShared {
        var answer = RingKeyShared()
        answer.ringID = request.ringID
        answer.ringVersion = request.ringVersion
        do throws(SecretsError) {
            let ringKey = try Self.openOwnCopy(
                request.ownCopy, ringID: request.ringID, ringVersion: request.ringVersion,
                publicKey: request.ringPublicKey, deviceKey: deviceKey, delegateID: delegateID)
            answer.copies = try Self.seal(
                ringKey, ringID: request.ringID, ringVersion: request.ringVersion, to: request.recipients)
        } catch {
            answer.copies = []
            answer.error = error.description
        }
        return answer
    }

    /// Makes ring key version `ring_version + 1`, seals it to every recipient and re-seals every secret version.
    public static func rotate(_ request: RingRotate, deviceKey: X25519PrivateKey, delegateID: String) -> RingRotated {
        var answer = RingRotated()
        answer.ringID = request.ringID
        answer.fromVersion = request.ringVersion
        do throws(SecretsError) {
            let oldKey = try Self.openOwnCopy(
                request.ownCopy, ringID: request.ringID, ringVersion: request.ringVersion,
                publicKey: request.ringPublicKey, deviceKey: deviceKey, delegateID: delegateID)
            let newKey = try X25519PrivateKey.generate()
            let newVersion = request.ringVersion + 1
            answer.publicKey = newKey.publicKey.rawRepresentation
            answer.copies = try Self.seal(newKey, ringID: request.ringID, ringVersion: newVersion, to: request.recipients)
            for secret in request.secrets {
                guard let envelope = secret.envelope, let sealedKey = envelope.sealedDataKey else {
                    throw .malformed(what: "secret to re-seal", reason: "\(secret.secretID) has no envelope")
                }
                let policy = SecretPolicy(allowedTaskTypes: secret.policy?.allowedTaskTypes ?? [])
                let binding = SecretBinding(
                    secretID: secret.secretID, version: secret.version, ringID: request.ringID,
                    ringVersion: request.ringVersion, policy: policy)
                var next = binding
                next.ringVersion = newVersion
                let resealed = try SecretEnvelope(
                    valueNonce: envelope.valueNonce, valueCiphertext: envelope.valueCiphertext,
                    sealedDataKey: HPKESealed(
                        encapsulatedKey: sealedKey.encapsulatedKey, ciphertext: sealedKey.ciphertext)
                ).resealed(binding: binding, to: next, oldRingKey: oldKey, newRingPublicKey: newKey.publicKey)
                var out = secret
                out.envelope = SecretEnvelopeData(
                    valueNonce: resealed.valueNonce, valueCiphertext: resealed.valueCiphertext,
                    sealedDataKey: SealedBox(
                        encapsulatedKey: resealed.sealedDataKey.encapsulatedKey,
                        ciphertext: resealed.sealedDataKey.ciphertext))
                answer.secrets.append(out)
            }
        } catch {
            answer = RingRotated()
            answer.ringID = request.ringID
            answer.fromVersion = request.ringVersion
            answer.error = error.description
        }
        return answer
    }

    private static func openOwnCopy(
        _ copy: SealedBox?, ringID: String, ringVersion: UInt32, publicKey: [UInt8], deviceKey: X25519PrivateKey,
        delegateID: String
    ) throws(SecretsError) -> X25519PrivateKey {
        guard let copy else { throw .malformed(what: "ring key copy", reason: "the manager sent none") }
        return try RingKeyCopy.open(
            HPKESealed(encapsulatedKey: copy.encapsulatedKey, ciphertext: copy.ciphertext), ringID: ringID,
            ringVersion: ringVersion, memberDelegateID: delegateID, with: deviceKey,
            expectedRingPublicKey: try X25519PublicKey(rawRepresentation: publicKey))
    }

    private static func seal(
        _ ringKey: X25519PrivateKey, ringID: String, ringVersion: UInt32, to recipients: [RingRecipient]
    ) throws(SecretsError) -> [RingKeyCopyInfo] {
        var copies: [RingKeyCopyInfo] = []
        for recipient in recipients {
            let device = try X25519PublicKey(rawRepresentation: recipient.devicePublicKey)
            let sealed = try RingKeyCopy.seal(
                ringPrivateKey: ringKey, ringID: ringID, ringVersion: ringVersion,
                memberDelegateID: recipient.delegateID, to: device)
            var copy = RingKeyCopyInfo()
            copy.delegateID = recipient.delegateID
            copy.deviceKeyFingerprint = DeviceKeyFingerprint.of(device)
            copy.sealed = SealedBox(encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext)
            copies.append(copy)
        }
        return copies
    }
}
