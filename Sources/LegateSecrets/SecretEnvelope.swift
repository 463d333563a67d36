internal import LegateAuth

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
        var dataKey: [UInt8]
        do {
            dataKey = try HPKE.open(self.sealedDataKey, with: ringPrivateKey, info: Self.dataKeyInfo, aad: aad)
        } catch {
            throw error.naming("secret data key")
        }
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

extension SecretEnvelope {
    private static let magic = Array("LGSE".utf8) + [1]

    /// One byte string for storage or the wire (integers big-endian): `"LGSE"`, format byte `0x01`, the 12-byte value
    /// nonce, u32 length + value ciphertext, the 32-byte encapsulated key, u32 length + data key ciphertext.
    public var serialized: [UInt8] {
        var out = Self.magic + self.valueNonce
        appendField(&out, self.valueCiphertext)
        out += self.sealedDataKey.encapsulatedKey
        appendField(&out, self.sealedDataKey.ciphertext)
        return out
    }

    /// Parses `serialized`; refuses a wrong tag, impossible lengths or trailing bytes. Authenticity is checked by
    /// `open`, not here.
    public init(serialized: some Collection<UInt8>) throws(SecretsError) {
        var reader = ByteReader(Array(serialized))
        guard reader.take(Self.magic.count) == Self.magic else {
            throw .malformed(what: "secret envelope", reason: "unknown format tag")
        }
        guard let nonce = reader.take(AESGCM.nonceBytes), let value = reader.takeField(),
              let enc = reader.take(X25519PublicKey.byteCount), let key = reader.takeField()
        else { throw .malformed(what: "secret envelope", reason: "truncated") }
        guard reader.isAtEnd else { throw .malformed(what: "secret envelope", reason: "trailing bytes") }
        guard value.count >= AESGCM.tagBytes, key.count >= AESGCM.tagBytes else {
            throw .malformed(what: "secret envelope", reason: "a ciphertext is shorter than its tag")
        }
        self.init(valueNonce: nonce, valueCiphertext: value,
                  sealedDataKey: HPKESealed(encapsulatedKey: enc, ciphertext: key))
    }
}

/// Reads fixed-size and u32-length-prefixed fields from a byte array without trapping on short input.
struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// True when every byte has been read.
    var isAtEnd: Bool { self.offset == self.bytes.count }

    /// The next `count` bytes, or nil when fewer remain.
    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, self.bytes.count - self.offset >= count else { return nil }
        defer { self.offset += count }
        return Array(self.bytes[self.offset..<(self.offset + count)])
    }

    /// A big-endian u32 length and that many bytes, or nil when truncated.
    mutating func takeField() -> [UInt8]? {
        guard let prefix = self.take(4) else { return nil }
        let length = prefix.reduce(0) { $0 << 8 | Int($1) }
        return self.take(length)
    }
}
