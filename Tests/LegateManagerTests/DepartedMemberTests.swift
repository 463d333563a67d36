import Foundation
import LegateAdminClient
import LegateAuth
import LegateCore
import LegateDelegate
@testable import LegateManager
import LegateSecrets
import LegateTestSupport
import LegateWire
import Testing

/// A member that leaves a ring (its delegate deleted, or its token revoked) cannot open a secret version made
/// after it left: real delegates rotate the ring key with the real sealing code, and the departed device keys and
/// the ring key copies they held are tried against what the manager stores.
@Suite(.serialized) struct DepartedMemberTests {
    @Test func deletedAndRevokedMembersCannotOpenASecretSealedAfterTheyLeft() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        defer { admin.close() }
        var create = TokenCreateRequest()
        create.name = "second"
        let secondToken = try DelegateToken.parse(try admin.call(.tokenCreate, create, as: TokenCreateResponse.self).value)
        var deviceKeys: [String: X25519PrivateKey] = [:]
        var clients: [DelegateClient] = []
        defer { for client in clients { client.stop() } }
        for (name, token) in [("stays", harness.token), ("deleted", harness.token), ("revoked", secondToken)] {
            var configuration = harness.delegateConfiguration(name: name, token: token)
            configuration.tags = ["vault"]
            let key = try X25519PrivateKey.generate()
            configuration.deviceKey = key
            deviceKeys[name] = key
            clients.append(try harness.startDelegate(configuration).0)
        }
        #expect(eventually { harness.manager.connectedDelegates == 3 })
        let sealing = SecretAdminTests()
        let ring = try sealing.ring(admin, "prod", tags: ["vault"])
        #expect(ring.members.count == 3)
        let ids = Dictionary(uniqueKeysWithValues: ring.members.map { ($0.delegateName, $0.delegateID) })
        let firstKey = try X25519PrivateKey.generate()
        var upload = KeyRingSetKeyRequest()
        upload.name = "prod"
        upload.ringVersion = 1
        upload.publicKey = firstKey.publicKey.rawRepresentation
        upload.copies = try ring.members.map { try sealing.copy(for: $0, of: ring, key: firstKey) }
        _ = try admin.call(.keyRingSetKey, upload, as: KeyRingInfo.self)

        // One member is deleted, another's token revoked: the remaining member rotates the ring key.
        _ = try admin.call(.delegateDelete, DelegateRef(delegateID: try #require(ids["deleted"])), as: DelegateRef.self)
        var revoke = TokenRevokeRequest()
        revoke.tokenID = secondToken.id
        _ = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
        let ref = KeyRingRef(name: "prod")
        #expect(eventually(timeout: .seconds(15)) {
            guard let shown = try? admin.call(.keyRingShow, ref, as: KeyRingInfo.self) else { return false }
            return shown.ringVersion >= 2 && shown.members.map(\.delegateName) == ["stays"]
                && shown.members.first?.hasCopy == true && shown.pendingChange.isEmpty
        })
        let rotated = try admin.call(.keyRingShow, ref, as: KeyRingInfo.self)

        // A secret sealed to the rotated ring key, as legatectl secret create seals it.
        let value = Array("sealed-after-they-left".utf8)
        let binding = SecretBinding(
            secretID: "sec_after1", version: 1, ringID: rotated.id, ringVersion: rotated.ringVersion,
            policy: .anyTaskType)
        let sealed = try SecretEnvelope.seal(
            value: value, binding: binding, ringPublicKey: try X25519PublicKey(rawRepresentation: rotated.publicKey))
        var secret = SecretCreateRequest()
        secret.name = "db"
        secret.ringName = "prod"
        secret.secretID = binding.secretID
        secret.version = 1
        secret.ringVersion = rotated.ringVersion
        secret.envelope = SecretEnvelopeData(
            valueNonce: sealed.valueNonce, valueCiphertext: sealed.valueCiphertext,
            sealedDataKey: SealedBox(
                encapsulatedKey: sealed.sealedDataKey.encapsulatedKey, ciphertext: sealed.sealedDataKey.ciphertext))
        _ = try admin.call(.secretCreate, secret, as: SecretInfo.self)

        // What the manager holds: the stored envelope and every ring key copy of every version.
        let directory = harness.manager.services.secrets.directory
        let (stored, copies) = directory.read { state in
            (state.versions[binding.secretID]?.last, state.copies[rotated.id] ?? [:])
        }
        let storedEnvelope = try #require(stored.map { try SecretEnvelopeData(protoBytes: $0.envelope) })
        let sealedKey = try #require(storedEnvelope.sealedDataKey)
        let envelope = SecretEnvelope(
            valueNonce: storedEnvelope.valueNonce, valueCiphertext: storedEnvelope.valueCiphertext,
            sealedDataKey: HPKESealed(encapsulatedKey: sealedKey.encapsulatedKey, ciphertext: sealedKey.ciphertext))

        for name in ["deleted", "revoked"] {
            let id = try #require(ids[name])
            let device = try #require(deviceKeys[name])
            let held = copies[id] ?? [:]
            #expect(held.keys.allSatisfy { $0 < rotated.ringVersion }, "\(name) got no copy of the new ring key")
            // Its old copy still opens with its device key (the test holds real key material) ...
            let oldCopy = try #require(held[1])
            let oldRingKey = try RingKeyCopy.open(
                HPKESealed(encapsulatedKey: oldCopy.encapsulatedKey, ciphertext: oldCopy.ciphertext),
                ringID: rotated.id, ringVersion: 1, memberDelegateID: id, with: device)
            // ... but neither that ring key nor the device key opens the secret sealed after it left.
            #expect(throws: SecretsError.self) { _ = try envelope.open(binding: binding, ringPrivateKey: oldRingKey) }
            #expect(throws: SecretsError.self) { _ = try envelope.open(binding: binding, ringPrivateKey: device) }
            var olderBinding = binding
            olderBinding.ringVersion = 1
            #expect(throws: SecretsError.self) {
                _ = try envelope.open(binding: olderBinding, ringPrivateKey: oldRingKey)
            }
        }

        // The remaining member's copy of the new ring key opens it.
        let staysID = try #require(ids["stays"])
        let current = try #require(copies[staysID]?[rotated.ringVersion])
        let ringKey = try RingKeyCopy.open(
            HPKESealed(encapsulatedKey: current.encapsulatedKey, ciphertext: current.ciphertext), ringID: rotated.id,
            ringVersion: rotated.ringVersion, memberDelegateID: staysID, with: try #require(deviceKeys["stays"]),
            expectedRingPublicKey: try X25519PublicKey(rawRepresentation: rotated.publicKey))
        #expect(try envelope.open(binding: binding, ringPrivateKey: ringKey) == value)
    }
}
