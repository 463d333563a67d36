@testable import LegateSecrets
import Testing

/// A small deterministic generator (SplitMix64) so that fuzzed cases repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// True when `body` throws a `SecretsError` (the only error type it can throw).
func refuses(_ body: () throws(SecretsError) -> some Any) -> Bool {
    do {
        _ = try body()
        return false
    } catch {
        return true
    }
}

/// Every single-bit flip of `bytes`.
func bitFlips(_ bytes: [UInt8]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    for index in bytes.indices {
        for bit in 0..<8 {
            var copy = bytes
            copy[index] ^= UInt8(1) << UInt8(bit)
            out.append(copy)
        }
    }
    return out
}

@Suite struct TamperingTests {
    static let info = Array("tamper info".utf8)
    static let aad = Array("tamper aad".utf8)

    @Test func hpkeRefusesEveryBitFlipTruncationAndWrongInput() throws {
        let recipient = try X25519PrivateKey.generate()
        let sealed = try HPKE.seal(to: recipient.publicKey, info: Self.info, aad: Self.aad,
                                   plaintext: Array("a data key of 32 bytes, say....".utf8))
        #expect(try HPKE.open(sealed, with: recipient, info: Self.info, aad: Self.aad).count == 31)
        func open(_ candidate: HPKESealed, info: [UInt8] = Self.info, aad: [UInt8] = Self.aad) -> Bool {
            refuses { () throws(SecretsError) in try HPKE.open(candidate, with: recipient, info: info, aad: aad) }
        }
        for flipped in bitFlips(sealed.encapsulatedKey) {
            #expect(open(HPKESealed(encapsulatedKey: flipped, ciphertext: sealed.ciphertext)))
        }
        for flipped in bitFlips(sealed.ciphertext) {
            #expect(open(HPKESealed(encapsulatedKey: sealed.encapsulatedKey, ciphertext: flipped)))
        }
        for flipped in bitFlips(Self.aad) { #expect(open(sealed, aad: flipped)) }
        for flipped in bitFlips(Self.info) { #expect(open(sealed, info: flipped)) }
        #expect(open(sealed, aad: Self.aad + [0]))
        #expect(open(sealed, aad: []))
        #expect(open(sealed, info: Self.info + [0]))
        #expect(open(sealed, info: []))
        for length in 0..<sealed.encapsulatedKey.count {
            #expect(open(HPKESealed(encapsulatedKey: Array(sealed.encapsulatedKey.prefix(length)),
                                    ciphertext: sealed.ciphertext)))
        }
        #expect(open(HPKESealed(encapsulatedKey: sealed.encapsulatedKey + [0], ciphertext: sealed.ciphertext)))
        for length in 0..<sealed.ciphertext.count {
            #expect(open(HPKESealed(encapsulatedKey: sealed.encapsulatedKey,
                                    ciphertext: Array(sealed.ciphertext.prefix(length)))))
        }
        #expect(open(HPKESealed(encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext + [0])))
        let stranger = try X25519PrivateKey.generate()
        #expect(refuses { () throws(SecretsError) in
            try HPKE.open(sealed, with: stranger, info: Self.info, aad: Self.aad)
        })
        for length in 0..<(32 + 16) {
            #expect(refuses { () throws(SecretsError) in try HPKESealed(serialized: sealed.serialized.prefix(length)) })
        }
    }

    @Test func lowOrderPointsAreRefused() throws {
        let recipient = try X25519PrivateKey.generate()
        // The u-coordinates of small-order points on Curve25519 (0, 1, and the order-8 points) and p, p+1.
        let points = [
            [UInt8](repeating: 0, count: 32),
            [1] + [UInt8](repeating: 0, count: 31),
            hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
            hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
            hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
            hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ]
        for point in points {
            let publicKey = try X25519PublicKey(rawRepresentation: point)
            #expect(throws: SecretsError.invalidPublicKey) {
                try HPKE.seal(to: publicKey, info: [], aad: [], plaintext: [1])
            }
            let forged = HPKESealed(encapsulatedKey: point, ciphertext: [UInt8](repeating: 0, count: 17))
            #expect(throws: SecretsError.openFailed(what: "HPKE sealed box")) {
                try HPKE.open(forged, with: recipient, info: [], aad: [])
            }
        }
        #expect(throws: SecretsError.self) { try X25519PublicKey(rawRepresentation: [UInt8](repeating: 9, count: 31)) }
        #expect(throws: SecretsError.self) { try X25519PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 33)) }
    }

    @Test func randomMutationsNeverOpenNorCrash() throws {
        var random = SplitMix64(state: 0x5EC2_E75)
        let ring = try X25519PrivateKey.generate()
        let binding = SecretBinding(secretID: "s", version: 1, ringID: "r", ringVersion: 1, policy: .anyTaskType)
        let envelope = try SecretEnvelope.seal(value: Array("fuzzed value".utf8), binding: binding,
                                               ringPublicKey: ring.publicKey)
        for _ in 0..<400 {
            var mutated = envelope
            switch random.next() % 4 {
            case 0: mutated.valueNonce = mutate(envelope.valueNonce, &random)
            case 1: mutated.valueCiphertext = mutate(envelope.valueCiphertext, &random)
            case 2: mutated.sealedDataKey.encapsulatedKey = mutate(envelope.sealedDataKey.encapsulatedKey, &random)
            default: mutated.sealedDataKey.ciphertext = mutate(envelope.sealedDataKey.ciphertext, &random)
            }
            if mutated == envelope { continue }
            #expect(refuses { () throws(SecretsError) in try mutated.open(binding: binding, ringPrivateKey: ring) })
        }
    }

    @Test func envelopeRefusesAnyOtherBindingOrKey() throws {
        let ring = try X25519PrivateKey.generate()
        let binding = SecretBinding(secretID: "db-password", version: 7, ringID: "prod", ringVersion: 2,
                                    policy: SecretPolicy(allowedTaskTypes: ["deploy"]))
        let envelope = try SecretEnvelope.seal(value: Array("hunter2-but-longer".utf8), binding: binding,
                                               ringPublicKey: ring.publicKey)
        var others: [SecretBinding] = []
        for change in 0..<8 {
            var other = binding
            switch change {
            case 0: other.secretID = "db-passwore"
            case 1: other.secretID = "db-password "
            case 2: other.version = 8
            case 3: other.ringID = "prod2"
            case 4: other.ringVersion = 1
            case 5: other.policy = .anyTaskType
            case 6: other.policy = SecretPolicy(allowedTaskTypes: ["deploy", "shell"])
            default: other.policy = SecretPolicy(allowedTaskTypes: ["deplo"])
            }
            others.append(other)
        }
        for other in others {
            #expect(refuses { () throws(SecretsError) in try envelope.open(binding: other, ringPrivateKey: ring) })
        }
        let stranger = try X25519PrivateKey.generate()
        #expect(refuses { () throws(SecretsError) in try envelope.open(binding: binding, ringPrivateKey: stranger) })
        for flipped in bitFlips(envelope.valueNonce) {
            var copy = envelope
            copy.valueNonce = flipped
            #expect(refuses { () throws(SecretsError) in try copy.open(binding: binding, ringPrivateKey: ring) })
        }
        for flipped in bitFlips(envelope.valueCiphertext) {
            var copy = envelope
            copy.valueCiphertext = flipped
            #expect(refuses { () throws(SecretsError) in try copy.open(binding: binding, ringPrivateKey: ring) })
        }
        for length in 0..<envelope.valueCiphertext.count {
            var copy = envelope
            copy.valueCiphertext = Array(envelope.valueCiphertext.prefix(length))
            #expect(refuses { () throws(SecretsError) in try copy.open(binding: binding, ringPrivateKey: ring) })
        }
        var shortNonce = envelope
        shortNonce.valueNonce.removeLast()
        #expect(refuses { () throws(SecretsError) in try shortNonce.open(binding: binding, ringPrivateKey: ring) })
        // A data key sealed for one envelope does not open another envelope's value.
        let second = try SecretEnvelope.seal(value: Array("hunter2-but-longer".utf8), binding: binding,
                                             ringPublicKey: ring.publicKey)
        var swapped = envelope
        swapped.sealedDataKey = second.sealedDataKey
        #expect(refuses { () throws(SecretsError) in try swapped.open(binding: binding, ringPrivateKey: ring) })
    }

    @Test func resealRefusesEveryChangeButARaisedRingVersion() throws {
        let ring = try X25519PrivateKey.generate()
        let next = try X25519PrivateKey.generate()
        let binding = SecretBinding(secretID: "api", version: 1, ringID: "ops", ringVersion: 3,
                                    policy: SecretPolicy(allowedTaskTypes: ["a", "b"]))
        let envelope = try SecretEnvelope.seal(value: Array("api-token-value".utf8), binding: binding,
                                               ringPublicKey: ring.publicKey)
        var changes: [SecretBinding] = []
        for change in 0..<6 {
            var other = binding
            other.ringVersion = 4
            switch change {
            case 0: other.secretID = "api2"
            case 1: other.version = 2
            case 2: other.ringID = "ops2"
            case 3: other.policy = SecretPolicy(allowedTaskTypes: ["a"])
            case 4: other.ringVersion = 3
            default: other.ringVersion = 2
            }
            changes.append(other)
        }
        for other in changes {
            #expect(refuses { () throws(SecretsError) in
                try envelope.resealed(binding: binding, to: other, oldRingKey: ring, newRingPublicKey: next.publicKey)
            })
        }
        var raised = binding
        raised.ringVersion = 9
        let rotated = try envelope.resealed(binding: binding, to: raised, oldRingKey: ring,
                                            newRingPublicKey: next.publicKey)
        #expect(try rotated.open(binding: raised, ringPrivateKey: next) == Array("api-token-value".utf8))
        #expect(rotated.valueCiphertext != envelope.valueCiphertext)
        #expect(refuses { () throws(SecretsError) in try rotated.open(binding: raised, ringPrivateKey: ring) })
    }

    @Test func ringKeyCopyIsBoundToRingVersionAndMember() throws {
        let device = try X25519PrivateKey.generate()
        let ring = try X25519PrivateKey.generate()
        let copy = try RingKeyCopy.seal(ringPrivateKey: ring, ringID: "prod", ringVersion: 4,
                                        memberDelegateID: "dlg-a", to: device.publicKey)
        let cases: [(String, UInt32, String)] = [("prod2", 4, "dlg-a"), ("prod", 5, "dlg-a"), ("prod", 4, "dlg-b")]
        for (ringID, version, member) in cases {
            #expect(refuses { () throws(SecretsError) in
                try RingKeyCopy.open(copy, ringID: ringID, ringVersion: version, memberDelegateID: member, with: device)
            })
        }
        let other = try X25519PrivateKey.generate()
        #expect(refuses { () throws(SecretsError) in
            try RingKeyCopy.open(copy, ringID: "prod", ringVersion: 4, memberDelegateID: "dlg-a", with: other)
        })
        #expect(throws: SecretsError.ringKeyMismatch) {
            try RingKeyCopy.open(copy, ringID: "prod", ringVersion: 4, memberDelegateID: "dlg-a", with: device,
                                 expectedRingPublicKey: other.publicKey)
        }
        for flipped in bitFlips(copy.ciphertext) {
            let tampered = HPKESealed(encapsulatedKey: copy.encapsulatedKey, ciphertext: flipped)
            #expect(refuses { () throws(SecretsError) in
                try RingKeyCopy.open(tampered, ringID: "prod", ringVersion: 4, memberDelegateID: "dlg-a", with: device)
            })
        }
        // A copy sealed with a plaintext that is not a 32-byte key is refused after authentication.
        let odd = try HPKE.seal(to: device.publicKey, info: RingKeyCopy.info,
                                aad: RingKeyCopy.associatedData(ringID: "prod", ringVersion: 4, memberDelegateID: "x"),
                                plaintext: [1, 2, 3])
        #expect(throws: SecretsError.self) {
            try RingKeyCopy.open(odd, ringID: "prod", ringVersion: 4, memberDelegateID: "x", with: device)
        }
    }

    @Test func bindingEncodingsNeverCollideAcrossFieldBoundaries() {
        func binding(_ secret: String, _ ring: String, _ types: [String] = []) -> [UInt8] {
            SecretBinding(secretID: secret, version: 1, ringID: ring, ringVersion: 1,
                          policy: SecretPolicy(allowedTaskTypes: types)).associatedData
        }
        #expect(binding("ab", "c") != binding("a", "bc"))
        #expect(binding("", "abc") != binding("abc", ""))
        #expect(binding("a", "b", ["ab", "c"]) != binding("a", "b", ["a", "bc"]))
        #expect(binding("a", "b", ["abc"]) != binding("a", "b", ["ab", "c"]))
        #expect(binding("a", "b", []) != binding("a", "b", [""]))
        // A secret id that spells the bytes of another layout still encodes differently.
        let tricky = String(decoding: [0, 0, 0, 1, 0x62], as: UTF8.self)
        #expect(binding("a" + tricky, "") != binding("a", "b"))
        // The policy is a set: order and duplicates do not change the encoding.
        #expect(binding("a", "b", ["x", "y"]) == binding("a", "b", ["y", "x", "y"]))
        var seen = Set<[UInt8]>()
        let parts = ["", "a", "b", "ab", "ba", "aab"]
        var count = 0
        for secret in parts {
            for ring in parts {
                for version in [UInt32(0), 1, 256] {
                    seen.insert(SecretBinding(secretID: secret, version: version, ringID: ring, ringVersion: version,
                                              policy: .anyTaskType).associatedData)
                    count += 1
                }
            }
        }
        #expect(seen.count == count)
        let encoded = binding("s", "r", ["t"])
        #expect(Array(encoded.prefix(5)) == Array("LGSB".utf8) + [1])
        #expect(SecretPolicy(allowedTaskTypes: ["b", "a"]).allowedTaskTypes == ["a", "b"])
        #expect(SecretPolicy(allowedTaskTypes: ["deploy"]).allows(taskType: "deploy"))
        #expect(!SecretPolicy(allowedTaskTypes: ["deploy"]).allows(taskType: "deploy2"))
        #expect(SecretPolicy.anyTaskType.allows(taskType: "anything"))
    }
}

/// Randomly flips, truncates, extends or replaces `bytes`.
func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
    var copy = bytes
    switch random.next() % 4 {
    case 0:
        if !copy.isEmpty { copy[Int(random.next() % UInt64(copy.count))] ^= UInt8.random(in: 1...255, using: &random) }
    case 1: copy = Array(copy.prefix(Int(random.next() % UInt64(copy.count + 1))))
    case 2: copy += [UInt8.random(in: 0...255, using: &random)]
    default: copy = (0..<Int(random.next() % 64)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }
    return copy
}
