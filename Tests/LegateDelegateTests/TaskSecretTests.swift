import LegateSecrets
import LegateWire
import Testing

@testable import LegateDelegate

/// The delegate's side of secrets, without sockets: opening an assignment's secrets with the device key (and
/// refusing what does not verify), masking reports, and the member's ring work.
struct TaskSecretTests {
    struct Fixture {
        let device: X25519PrivateKey
        let ring: X25519PrivateKey
        let value: [UInt8] = Array("hunter2-hunter2".utf8)

        init() throws {
            self.device = try X25519PrivateKey.generate()
            self.ring = try X25519PrivateKey.generate()
        }

        /// An assignment of type `type` with one secret sealed for delegate `member` under `policy`.
        func assignment(type: String = "shell", member: String = "dlg_1", policy: [String] = []) throws
            -> TaskAssignment
        {
            let binding = SecretBinding(
                secretID: "sec_1", version: 2, ringID: "krg_1", ringVersion: 1,
                policy: SecretPolicy(allowedTaskTypes: policy))
            let envelope = try SecretEnvelope.seal(value: self.value, binding: binding, ringPublicKey: self.ring.publicKey)
            let copy = try RingKeyCopy.seal(
                ringPrivateKey: self.ring, ringID: "krg_1", ringVersion: 1, memberDelegateID: member,
                to: self.device.publicKey)
            var secret = TaskSecret()
            secret.envName = "DB"
            secret.secretName = "db"
            secret.secretID = "sec_1"
            secret.version = 2
            secret.ringID = "krg_1"
            secret.ringVersion = 1
            secret.policy = SecretPolicyInfo(allowedTaskTypes: policy)
            secret.envelope = SecretEnvelopeData(
                valueNonce: envelope.valueNonce, valueCiphertext: envelope.valueCiphertext,
                sealedDataKey: SealedBox(
                    encapsulatedKey: envelope.sealedDataKey.encapsulatedKey,
                    ciphertext: envelope.sealedDataKey.ciphertext))
            secret.ringKeyCopy = SealedBox(encapsulatedKey: copy.encapsulatedKey, ciphertext: copy.ciphertext)
            var assignment = TaskAssignment()
            assignment.taskID = "tsk_1"
            assignment.attempt = 1
            assignment.type = type
            assignment.secrets = [secret]
            return assignment
        }
    }

    @Test func aMemberOpensTheValueAndCachesTheRingKey() throws {
        let fixture = try Fixture()
        let cache = RingKeyCache()
        let opened = TaskSecretOpener.open(
            try fixture.assignment(), deviceKey: fixture.device, delegateID: "dlg_1", cache: cache)
        let values = try opened.get()
        #expect(values.map(\.envName) == ["DB"] && values.first?.value == fixture.value)
        #expect(cache.count == 1)
        cache.clear()
        #expect(cache.count == 0)
    }

    @Test func tamperedCiphertextPolicyOrAnotherMembersCopyIsRefused() throws {
        let fixture = try Fixture()
        var tampered = try fixture.assignment()
        tampered.secrets[0].envelope?.valueCiphertext[0] ^= 1
        var loosened = try fixture.assignment(policy: ["shell"])
        loosened.secrets[0].policy = SecretPolicyInfo(allowedTaskTypes: [])  // the manager widened the policy
        let forbidden = try fixture.assignment(type: "echo", policy: ["shell"])
        let otherMember = try fixture.assignment(member: "dlg_2")
        var missing = try fixture.assignment()
        missing.secrets[0].envelope = nil
        for assignment in [tampered, loosened, forbidden, otherMember, missing] {
            let result = TaskSecretOpener.open(
                assignment, deviceKey: fixture.device, delegateID: "dlg_1", cache: RingKeyCache())
            guard case .failure(let refusal) = result else {
                Issue.record("opened a secret that should be refused")
                continue
            }
            #expect(refusal.message.hasPrefix("refused to open secret db: "))
            #expect(!refusal.message.contains("hunter2"))
        }
        let withoutKey = TaskSecretOpener.open(
            try fixture.assignment(), deviceKey: nil, delegateID: "dlg_1", cache: RingKeyCache())
        #expect((try? withoutKey.get()) == nil)
    }

    @Test func logChunksAndTheResultAreMaskedEvenAcrossChunks() throws {
        let recording = RecordingReporter()
        let masking = try MaskingTaskReporter(wrapping: recording, values: [Array("hunter2-hunter2".utf8)])
        var first = TaskUpdate(taskID: "t", attempt: 1)
        first.logChunk = Array("pass=hunter2-h".utf8)
        var second = TaskUpdate(taskID: "t", attempt: 1)
        second.logChunk = Array("unter2 done\n".utf8)
        masking.sendUpdate(first)
        masking.sendUpdate(second)
        var result = TaskResult(taskID: "t", attempt: 1)
        result.output = Array("out hunter2-hunter2 end".utf8)
        result.error = "failed with hunter2-hunter2"
        masking.sendResult(result)
        let log = recording.updates.flatMap(\.logChunk)
        #expect(String(decoding: log, as: UTF8.self) == "pass=*** done\n")
        #expect(recording.results.first?.output == Array("out *** end".utf8))
        #expect(recording.results.first?.error == "failed with ***")
    }

    @Test func aMemberSharesAndRotatesTheRingKeyAndReSealsTheSecret() throws {
        let fixture = try Fixture()
        let newcomer = try X25519PrivateKey.generate()
        let original = try fixture.assignment()
        let secret = try #require(original.secrets.first)
        var share = RingKeyShare()
        share.ringID = "krg_1"
        share.ringVersion = 1
        share.ringPublicKey = fixture.ring.publicKey.rawRepresentation
        share.ownCopy = secret.ringKeyCopy
        share.recipients = [RingRecipient(delegateID: "dlg_9", devicePublicKey: newcomer.publicKey.rawRepresentation)]
        let shared = RingWork.share(share, deviceKey: fixture.device, delegateID: "dlg_1")
        #expect(shared.error.isEmpty && shared.copies.map(\.delegateID) == ["dlg_9"])
        #expect(shared.copies.first?.deviceKeyFingerprint == DeviceKeyFingerprint.of(newcomer.publicKey))

        // A manager naming another ring public key than the copy holds is refused.
        var forged = share
        forged.ringPublicKey = try X25519PrivateKey.generate().publicKey.rawRepresentation
        #expect(!RingWork.share(forged, deviceKey: fixture.device, delegateID: "dlg_1").error.isEmpty)

        var rotate = RingRotate()
        rotate.ringID = "krg_1"
        rotate.ringVersion = 1
        rotate.ringPublicKey = share.ringPublicKey
        rotate.ownCopy = secret.ringKeyCopy
        rotate.recipients = [RingRecipient(delegateID: "dlg_1", devicePublicKey: fixture.device.publicKey.rawRepresentation)]
        rotate.secrets = [
            SecretToReseal(secretID: "sec_1", version: 2, policy: SecretPolicyInfo(), envelope: secret.envelope)
        ]
        let rotated = RingWork.rotate(rotate, deviceKey: fixture.device, delegateID: "dlg_1")
        #expect(rotated.error.isEmpty, "\(rotated.error)")
        // The re-sealed secret opens with the new version's copy.
        var next = original
        next.secrets[0].ringVersion = 2
        next.secrets[0].envelope = rotated.secrets.first?.envelope
        next.secrets[0].ringKeyCopy = rotated.copies.first?.sealed
        let reopened = TaskSecretOpener.open(next, deviceKey: fixture.device, delegateID: "dlg_1", cache: RingKeyCache())
        #expect((try reopened.get()).first?.value == fixture.value)
    }
}
