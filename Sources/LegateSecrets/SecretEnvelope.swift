import LegateAuth

/// One sealed secret version: the value under a fresh data key (AES-256-GCM), and the data key sealed to the key
/// ring's public key (HPKE). Both layers take `SecretBinding.associatedData` as associated data. The manager stores
/// and relays it; only a holder of the ring private key opens it.
public struct SecretEnvelope: Sendable, Hashable {
    /// The HPKE `info` for sealing data keys.
    public static let dataKeyInfo = Array("legate secret data key v1".utf8)
    /// Data key length in bytes (AES-256).
    static let dataKeyBytes = 32

    /// The 12-byte AES-GCM nonce of the value layer (random per seal).
    public var valueNonce: [UInt8]
    /// The value encrypted with AES-256-GCM under the data key, followed by the 16-byte tag.
    public var valueCiphertext: [UInt8]
    /// The data key sealed to the ring public key.
    public var sealedDataKey: HPKESealed

    /// Wraps the parts as received; they are checked when opened.
    public init(valueNonce: [UInt8], valueCiphertext: [UInt8], sealedDataKey: HPKESealed) {
        self.valueNonce = valueNonce
        self.valueCiphertext = valueCiphertext
        self.sealedDataKey = sealedDataKey
    }

    /// Seals `value` for `binding` to the ring: a fresh random data key and nonce each time.
    public static func seal(value: [UInt8], binding: SecretBinding, ringPublicKey: X25519PublicKey)
        throws(SecretsError) -> SecretEnvelope
    {
        var dataKey = SecureRandom.bytes(Self.dataKeyBytes)
        defer { wipe(&dataKey) }
        let aad = binding.associatedData
        let nonce = SecureRandom.bytes(AESGCM.nonceBytes)
        let ciphertext = try AESGCM.seal(key: dataKey, nonce: nonce, aad: aad, plaintext: value)
        let sealed = try HPKE.seal(to: ringPublicKey, info: Self.dataKeyInfo, aad: aad, plaintext: dataKey)
        return SecretEnvelope(valueNonce: nonce, valueCiphertext: ciphertext, sealedDataKey: sealed)
    }

    /// The value, if this envelope was sealed for exactly `binding` to the ring key pair of `ringPrivateKey`.
    public func open(binding: SecretBinding, ringPrivateKey: X25519PrivateKey) throws(SecretsError) -> [UInt8] {
        let aad = binding.associatedData
        guard self.valueNonce.count == AESGCM.nonceBytes else {
            throw .malformed(what: "secret value nonce", reason: "\(self.valueNonce.count) bytes, 12 expected")
        }
        var dataKey = try HPKE.open(self.sealedDataKey, with: ringPrivateKey, info: Self.dataKeyInfo, aad: aad)
        defer { wipe(&dataKey) }
        guard dataKey.count == Self.dataKeyBytes else {
            throw .malformed(what: "secret data key", reason: "\(dataKey.count) bytes, 32 expected")
        }
        return try AESGCM.open(key: dataKey, nonce: self.valueNonce, aad: aad, sealed: self.valueCiphertext,
                               what: "secret value")
    }

    /// The same value sealed for `newBinding` to a rotated ring key pair, made by a ring member after a membership
    /// change. Only `ringVersion` may change, and it must increase: a re-seal request relayed by the manager cannot
    /// move the value to another secret or version, another ring, or a looser policy. Because the ring version is
    /// part of the associated data of both layers, the value is sealed afresh (new data key, new nonce) rather than
    /// only re-wrapping the data key; the old envelope stays exactly as openable as before.
    public func resealed(binding: SecretBinding, to newBinding: SecretBinding, oldRingKey: X25519PrivateKey,
                         newRingPublicKey: X25519PublicKey) throws(SecretsError) -> SecretEnvelope
    {
        guard newBinding.secretID.utf8.elementsEqual(binding.secretID.utf8) else {
            throw .bindingChangeRefused(field: "the secret id")
        }
        guard newBinding.version == binding.version else { throw .bindingChangeRefused(field: "the secret version") }
        guard newBinding.ringID.utf8.elementsEqual(binding.ringID.utf8) else {
            throw .bindingChangeRefused(field: "the key ring id")
        }
        guard newBinding.policy.canonicalEncoding == binding.policy.canonicalEncoding else {
            throw .bindingChangeRefused(field: "the policy")
        }
        guard newBinding.ringVersion > binding.ringVersion else {
            throw .bindingChangeRefused(field: "the ring version to one not above the current")
        }
        var value = try self.open(binding: binding, ringPrivateKey: oldRingKey)
        defer { wipe(&value) }
        return try Self.seal(value: value, binding: newBinding, ringPublicKey: newRingPublicKey)
    }
}

/// The ring private key sealed to one member delegate's device key (HPKE, info `legate ring key v1`), with the
/// ring id, ring version and member id as associated data.
public enum RingKeyCopy {
    /// The HPKE `info` for sealing ring private keys.
    public static let info = Array("legate ring key v1".utf8)

    /// The associated data: `"LGRK"`, format byte `0x01`, u32 length + ringID UTF-8, u32 ringVersion, u32 length +
    /// memberDelegateID UTF-8 (integers big-endian).
    public static func associatedData(ringID: String, ringVersion: UInt32, memberDelegateID: String) -> [UInt8] {
        var out = Array("LGRK".utf8) + [1]
        appendField(&out, Array(ringID.utf8))
        appendUInt32(&out, ringVersion)
        appendField(&out, Array(memberDelegateID.utf8))
        return out
    }

    /// Seals the ring private key to a member's device public key.
    public static func seal(ringPrivateKey: X25519PrivateKey, ringID: String, ringVersion: UInt32,
                            memberDelegateID: String, to memberDevicePublicKey: X25519PublicKey)
        throws(SecretsError) -> HPKESealed
    {
        var raw = ringPrivateKey.rawRepresentation
        defer { wipe(&raw) }
        let aad = associatedData(ringID: ringID, ringVersion: ringVersion, memberDelegateID: memberDelegateID)
        return try HPKE.seal(to: memberDevicePublicKey, info: Self.info, aad: aad, plaintext: raw)
    }

    /// Opens a ring key copy with the member's device key. With `expectedRingPublicKey` (the ring public key the
    /// member trusts), a copy holding any other key pair is refused: base-mode HPKE does not authenticate the
    /// sender, so anyone who knows the device public key can seal a key to it.
    public static func open(_ sealed: HPKESealed, ringID: String, ringVersion: UInt32, memberDelegateID: String,
                            with deviceKey: X25519PrivateKey, expectedRingPublicKey: X25519PublicKey? = nil)
        throws(SecretsError) -> X25519PrivateKey
    {
        let aad = associatedData(ringID: ringID, ringVersion: ringVersion, memberDelegateID: memberDelegateID)
        var raw = try HPKE.open(sealed, with: deviceKey, info: Self.info, aad: aad)
        defer { wipe(&raw) }
        guard raw.count == X25519PrivateKey.byteCount else {
            throw .malformed(what: "ring key copy", reason: "\(raw.count) key bytes, 32 expected")
        }
        let key = try X25519PrivateKey(rawRepresentation: raw)
        if let expectedRingPublicKey, key.publicKey != expectedRingPublicKey { throw .ringKeyMismatch }
        return key
    }
}
