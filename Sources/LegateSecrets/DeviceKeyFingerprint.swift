internal import LegateAuth

/// A short, human-comparable form of a device public key, to check out of band that the manager relays the key
/// the delegate really holds.
public enum DeviceKeyFingerprint {
    /// `SHA256:` followed by the standard base64 alphabet, without `=` padding, of SHA-256 over the 32 raw key bytes
    /// (43 characters after the prefix), the form `ssh-keygen -l` prints for SSH keys.
    public static func of(_ publicKey: X25519PublicKey) -> String {
        "SHA256:" + Base64.encode(SHA256Digest.hash(publicKey.rawRepresentation), alphabet: .standard, padding: false)
    }
}
