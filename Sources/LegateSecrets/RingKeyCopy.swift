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
        var raw: [UInt8]
        do { raw = try HPKE.open(sealed, with: deviceKey, info: Self.info, aad: aad) } catch {
            throw error.naming("ring key copy")
        }
        defer { wipe(&raw) }
        guard raw.count == X25519PrivateKey.byteCount else {
            throw .malformed(what: "ring key copy", reason: "\(raw.count) key bytes, 32 expected")
        }
        let key = try X25519PrivateKey(rawRepresentation: raw)
        if let expectedRingPublicKey, key.publicKey != expectedRingPublicKey { throw .ringKeyMismatch }
        return key
    }
}
