import LegateSecrets
import Testing

@Suite struct EnvelopeTests {
    static let binding = SecretBinding(secretID: "db-password", version: 3, ringID: "prod", ringVersion: 1,
                                       policy: SecretPolicy(allowedTaskTypes: ["deploy", "backup"]))

    @Test func hpkeRoundTrip() throws {
        let recipient = try X25519PrivateKey.generate()
        let sealed = try HPKE.seal(to: recipient.publicKey, info: Array("info".utf8), aad: [1, 2],
                                   plaintext: Array("hello".utf8))
        #expect(sealed.encapsulatedKey.count == 32)
        #expect(sealed.ciphertext.count == 5 + 16)
        let opened = try HPKE.open(sealed, with: recipient, info: Array("info".utf8), aad: [1, 2])
        #expect(opened == Array("hello".utf8))
        let empty = try HPKE.seal(to: recipient.publicKey, info: [], aad: [], plaintext: [])
        #expect(try HPKE.open(empty, with: recipient, info: [], aad: []) == [])
        #expect(try HPKESealed(serialized: sealed.serialized) == sealed)
    }

    @Test func envelopeRoundTripAndRingKeyCopy() throws {
        let device = try X25519PrivateKey.generate()
        let ring = try X25519PrivateKey.generate()
        let copy = try RingKeyCopy.seal(ringPrivateKey: ring, ringID: "prod", ringVersion: 1,
                                        memberDelegateID: "dlg-1", to: device.publicKey)
        let ringKey = try RingKeyCopy.open(copy, ringID: "prod", ringVersion: 1, memberDelegateID: "dlg-1",
                                           with: device, expectedRingPublicKey: ring.publicKey)
        #expect(ringKey.rawRepresentation == ring.rawRepresentation)
        let value = Array("s3cr3t-value".utf8)
        let envelope = try SecretEnvelope.seal(value: value, binding: Self.binding, ringPublicKey: ring.publicKey)
        #expect(try envelope.open(binding: Self.binding, ringPrivateKey: ringKey) == value)
    }

    @Test func rotationResealsAndRefusesOtherChanges() throws {
        let oldRing = try X25519PrivateKey.generate()
        let newRing = try X25519PrivateKey.generate()
        let value = Array("rotating-value".utf8)
        let envelope = try SecretEnvelope.seal(value: value, binding: Self.binding, ringPublicKey: oldRing.publicKey)
        var next = Self.binding
        next.ringVersion = 2
        let rotated = try envelope.resealed(binding: Self.binding, to: next, oldRingKey: oldRing,
                                            newRingPublicKey: newRing.publicKey)
        #expect(try rotated.open(binding: next, ringPrivateKey: newRing) == value)
        #expect(throws: SecretsError.self) { try rotated.open(binding: Self.binding, ringPrivateKey: newRing) }
        var looser = next
        looser.policy = .anyTaskType
        #expect(throws: SecretsError.bindingChangeRefused(field: "the policy")) {
            try envelope.resealed(binding: Self.binding, to: looser, oldRingKey: oldRing,
                                  newRingPublicKey: newRing.publicKey)
        }
    }

    @Test func fingerprintFormat() throws {
        let key = try X25519PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 32))
        let fingerprint = DeviceKeyFingerprint.of(key)
        #expect(fingerprint.hasPrefix("SHA256:"))
        #expect(fingerprint.count == 7 + 43)
        // SHA-256 of 32 zero bytes is 66687aad...925; its unpadded base64 is below.
        #expect(fingerprint == "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU")
    }
}
