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

@Suite struct EnvelopeEncodingTests {
    @Test func serializedFormRoundTripsAndRefusesDamage() throws {
        let ring = try X25519PrivateKey.generate()
        let binding = SecretBinding(secretID: "s", version: 1, ringID: "r", ringVersion: 1, policy: .anyTaskType)
        let envelope = try SecretEnvelope.seal(value: Array("round-trip".utf8), binding: binding,
                                               ringPublicKey: ring.publicKey)
        let bytes = envelope.serialized
        let parsed = try SecretEnvelope(serialized: bytes)
        #expect(parsed == envelope)
        #expect(try parsed.open(binding: binding, ringPrivateKey: ring) == Array("round-trip".utf8))
        for length in 0..<bytes.count {
            #expect(throws: SecretsError.self) { try SecretEnvelope(serialized: bytes.prefix(length)) }
        }
        #expect(throws: SecretsError.self) { try SecretEnvelope(serialized: bytes + [0]) }
        var wrongTag = bytes
        wrongTag[4] = 2
        #expect(throws: SecretsError.self) { try SecretEnvelope(serialized: wrongTag) }
        // A length prefix claiming more than the input holds.
        var huge = bytes
        for index in 17..<21 { huge[index] = 0xFF }
        #expect(throws: SecretsError.self) { try SecretEnvelope(serialized: huge) }
    }
}

@Suite struct ConcurrentOpenTests {
    @Test func oneRingKeyOpensFromManyTasksAtOnce() async throws {
        let ring = try X25519PrivateKey.generate()
        let binding = SecretBinding(secretID: "c", version: 1, ringID: "r", ringVersion: 1, policy: .anyTaskType)
        let envelope = try SecretEnvelope.seal(value: Array("shared-value".utf8), binding: binding,
                                               ringPublicKey: ring.publicKey)
        let opened = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var count = 0
                    for _ in 0..<25 where try envelope.open(binding: binding, ringPrivateKey: ring)
                        == Array("shared-value".utf8) {
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(opened == 200)
    }
}

@Suite struct ErrorNamingTests {
    @Test func failuresNameTheItemThatDidNotOpen() throws {
        let ring = try X25519PrivateKey.generate()
        let stranger = try X25519PrivateKey.generate()
        let binding = SecretBinding(secretID: "n", version: 1, ringID: "r", ringVersion: 1, policy: .anyTaskType)
        let envelope = try SecretEnvelope.seal(value: Array("named-value".utf8), binding: binding,
                                               ringPublicKey: ring.publicKey)
        #expect(throws: SecretsError.openFailed(what: "secret data key")) {
            try envelope.open(binding: binding, ringPrivateKey: stranger)
        }
        var altered = envelope
        altered.valueCiphertext[0] ^= 1
        #expect(throws: SecretsError.openFailed(what: "secret value")) {
            try altered.open(binding: binding, ringPrivateKey: ring)
        }
        let copy = try RingKeyCopy.seal(ringPrivateKey: ring, ringID: "r", ringVersion: 1, memberDelegateID: "d",
                                        to: ring.publicKey)
        #expect(throws: SecretsError.openFailed(what: "ring key copy")) {
            try RingKeyCopy.open(copy, ringID: "r", ringVersion: 1, memberDelegateID: "d", with: stranger)
        }
        #expect(!SecretsError.openFailed(what: "secret value").description.isEmpty)
    }
}
