internal import COpenSSL
internal import LegateAuth

/// An X25519 public key (RFC 7748): 32 raw bytes, as sent on the wire and stored by the manager.
public struct X25519PublicKey: Sendable, Hashable {
    /// Raw key length in bytes.
    public static let byteCount = 32

    /// The 32 raw bytes (the u-coordinate, little-endian, as RFC 7748 encodes it).
    public let rawRepresentation: [UInt8]

    /// Wraps 32 raw bytes; any other length is refused. Low-order points are refused when used, not here.
    public init(rawRepresentation: some Collection<UInt8>) throws(SecretsError) {
        let bytes = Array(rawRepresentation)
        guard bytes.count == Self.byteCount else {
            throw .invalidKeyLength(what: "X25519 public key", expected: Self.byteCount, found: bytes.count)
        }
        self.rawRepresentation = bytes
    }

    init(checked bytes: [UInt8]) { self.rawRepresentation = bytes }

    /// A libcrypto key object for this public key; the caller frees it.
    func makeKeyObject() throws(SecretsError) -> OpaquePointer {
        let made = self.rawRepresentation.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, $0.baseAddress, $0.count)
        }
        guard let made else { throw .cryptoFailure(operation: "load an X25519 public key") }
        return made
    }
}

/// An X25519 private key held in a libcrypto key object; the raw bytes leave it only through `rawRepresentation`.
public final class X25519PrivateKey: @unchecked Sendable {
    // Invariant that makes @unchecked Sendable safe: `key` is created in init, never modified, and freed in deinit;
    // libcrypto allows concurrent derivations from one unmodified EVP_PKEY (each uses its own EVP_PKEY_CTX).
    private let key: OpaquePointer

    /// The matching public key, computed once when the key is loaded.
    public let publicKey: X25519PublicKey

    /// Raw key length in bytes.
    public static let byteCount = 32

    /// A fresh random key from OpenSSL's generator.
    public static func generate() throws(SecretsError) -> X25519PrivateKey {
        var bytes = SecureRandom.bytes(Self.byteCount)
        defer { wipe(&bytes) }
        return try X25519PrivateKey(rawRepresentation: bytes)
    }

    /// Loads 32 raw private key bytes (clamped by X25519 itself, as RFC 7748 specifies); other lengths are refused.
    public init(rawRepresentation: some Collection<UInt8>) throws(SecretsError) {
        var bytes = Array(rawRepresentation)
        defer { wipe(&bytes) }
        guard bytes.count == Self.byteCount else {
            throw .invalidKeyLength(what: "X25519 private key", expected: Self.byteCount, found: bytes.count)
        }
        let made = bytes.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.baseAddress, $0.count)
        }
        guard let made else { throw .cryptoFailure(operation: "load an X25519 private key") }
        var length = X25519PublicKey.byteCount
        var publicBytes = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_get_raw_public_key(made, &publicBytes, &length) == 1, length == X25519PublicKey.byteCount else {
            EVP_PKEY_free(made)
            throw .cryptoFailure(operation: "compute an X25519 public key")
        }
        self.key = made
        self.publicKey = X25519PublicKey(checked: publicBytes)
    }

    deinit { EVP_PKEY_free(self.key) }

    /// A copy of the 32 raw private key bytes; store them only where the device key belongs, wipe them after use.
    public var rawRepresentation: [UInt8] {
        var length = Self.byteCount
        var bytes = [UInt8](repeating: 0, count: length)
        // Reading the raw key of an X25519 EVP_PKEY made from raw bytes cannot fail; zeros would fail every open.
        _ = EVP_PKEY_get_raw_private_key(self.key, &bytes, &length)
        return bytes
    }

    /// X25519(self, peer): the 32-byte shared secret; refuses a low-order peer key (all-zero result).
    package func sharedSecret(with peer: X25519PublicKey) throws(SecretsError) -> [UInt8] {
        let peerKey = try peer.makeKeyObject()
        defer { EVP_PKEY_free(peerKey) }
        guard let context = EVP_PKEY_CTX_new(self.key, nil) else {
            throw .cryptoFailure(operation: "create an X25519 derivation context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, peerKey) == 1 else {
            throw .cryptoFailure(operation: "start an X25519 derivation")
        }
        var length = 32
        var secret = [UInt8](repeating: 0, count: length)
        // libcrypto refuses to derive an all-zero secret, which only a low-order peer point produces.
        guard EVP_PKEY_derive(context, &secret, &length) == 1, length == 32 else { throw .invalidPublicKey }
        guard secret.contains(where: { $0 != 0 }) else { throw .invalidPublicKey }
        return secret
    }
}

/// Overwrites `bytes` with zeros in place (OpenSSL's `OPENSSL_cleanse`, which the compiler cannot elide).
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { raw in
        if let base = raw.baseAddress, raw.count > 0 { OPENSSL_cleanse(base, raw.count) }
    }
}
