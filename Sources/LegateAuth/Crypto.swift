internal import COpenSSL
internal import COpenSSLShims

/// An HMAC-SHA256 key with its inner and outer SHA-256 states computed once (RFC 2104), reused per message.
public final class HMACKey: @unchecked Sendable {
    // Invariant that makes @unchecked Sendable safe: `state` is written only in init and read-only afterwards;
    // legate_hmac_sha256 copies it before hashing, so concurrent use from several threads is safe.
    private let state: UnsafeMutableRawPointer

    /// Prepares a key from its raw bytes (any length; longer than 64 bytes is hashed first, per RFC 2104).
    public init(keyBytes: some Collection<UInt8>) {
        let size = legate_hmac_sha256_state_size()
        self.state = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        var bytes = Array(keyBytes)
        bytes.withUnsafeMutableBufferPointer { buffer in
            legate_hmac_sha256_prepare(self.state, buffer.baseAddress, buffer.count)
            // Wipe the temporary copy of the key before the array is freed.
            if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
        }
    }

    deinit {
        OPENSSL_cleanse(self.state, legate_hmac_sha256_state_size())
        self.state.deallocate()
    }

    /// Writes HMAC-SHA256(message) into `out`, which must have room for 32 bytes.
    func authenticate(_ message: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        legate_hmac_sha256(self.state, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, out)
    }

    /// HMAC-SHA256 of `message` (32 bytes).
    public func authenticationCode(for message: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(message)
        return [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            bytes.withUnsafeBytes { raw in
                if let base = out.baseAddress { self.authenticate(raw, into: base) }
            }
            count = 32
        }
    }
}

/// Comparisons whose running time does not depend on where the inputs differ (OpenSSL `CRYPTO_memcmp`).
public enum ConstantTime {
    /// True when `a` and `b` have the same length and bytes; time depends only on the length.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let left = Array(a)
        let right = Array(b)
        guard left.count == right.count else { return false }
        if left.isEmpty { return true }
        return left.withUnsafeBytes { l in
            right.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
    }

    /// Raw-buffer variant for the hot path; no allocation.
    static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }
}

/// Cryptographically secure random bytes from OpenSSL's `RAND_bytes`.
public enum SecureRandom {
    /// `count` random bytes; retries if the generator is momentarily unavailable.
    public static func bytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            // RAND_bytes only fails when the DRBG cannot be seeded; retrying is the only safe answer.
            while RAND_bytes(buffer.baseAddress, Int32(count)) != 1 {}
            initialized = count
        }
    }
}

/// SHA-256 helpers (also used to store only a hash of admin API key secrets).
public enum SHA256Digest {
    /// SHA-256 of `bytes` (32 bytes).
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        return [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            input.withUnsafeBufferPointer { legate_sha256($0.baseAddress, $0.count, out.baseAddress) }
            count = 32
        }
    }
}

/// An AES-256-GCM key that seals delegate tokens at rest; kept outside the database.
public struct MasterKey: Sendable, Equatable {
    /// Nonce bytes (96-bit, random per seal).
    static let nonceBytes = 12
    /// Tag bytes (128-bit).
    static let tagBytes = 16

    /// The 32 raw key bytes; store them outside the database, never log them.
    public let bytes: [UInt8]

    /// A fresh random key.
    public static func generate() -> MasterKey { MasterKey(checked: SecureRandom.bytes(32)) }

    /// Wraps 32 key bytes; any other length is refused.
    public init(bytes: [UInt8]) throws(AuthError) {
        guard bytes.count == 32 else { throw .invalidMasterKeyLength(found: bytes.count) }
        self.bytes = bytes
    }

    private init(checked bytes: [UInt8]) { self.bytes = bytes }

    /// Encrypts `plaintext` bound to `associatedData`; returns nonce || ciphertext || tag.
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) -> [UInt8] {
        let nonce = SecureRandom.bytes(Self.nonceBytes)
        var output = nonce + [UInt8](repeating: 0, count: plaintext.count + Self.tagBytes)
        var tag = [UInt8](repeating: 0, count: Self.tagBytes)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        let ok = self.run(encrypt: true, nonce: nonce, input: plaintext, aad: associatedData,
                          output: &ciphertext, tag: &tag)
        // Encryption with a valid key cannot fail short of memory exhaustion; an empty box then fails open().
        guard ok else { return [] }
        output.replaceSubrange(Self.nonceBytes..., with: ciphertext.prefix(plaintext.count) + tag)
        return output
    }

    /// Decrypts and authenticates a sealed box made by `seal` with the same associated data.
    public func open(_ sealed: [UInt8], associatedData: [UInt8]) throws(AuthError) -> [UInt8] {
        let minimum = Self.nonceBytes + Self.tagBytes
        guard sealed.count >= minimum else { throw .sealedBoxTooShort(found: sealed.count, minimum: minimum) }
        let nonce = Array(sealed.prefix(Self.nonceBytes))
        let body = Array(sealed[Self.nonceBytes..<(sealed.count - Self.tagBytes)])
        var tag = Array(sealed.suffix(Self.tagBytes))
        var plaintext = [UInt8](repeating: 0, count: body.count + 16)
        guard self.run(encrypt: false, nonce: nonce, input: body, aad: associatedData, output: &plaintext, tag: &tag)
        else { throw .decryptionFailed }
        return Array(plaintext.prefix(body.count))
    }

    private func run(encrypt: Bool, nonce: [UInt8], input: [UInt8], aad: [UInt8], output: inout [UInt8],
                     tag: inout [UInt8]) -> Bool {
        guard let context = EVP_CIPHER_CTX_new() else { return false }
        defer { EVP_CIPHER_CTX_free(context) }
        let initialise = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
        let update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate
        guard initialise(context, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonce.count), nil) == 1,
              initialise(context, nil, nil, self.bytes, nonce) == 1
        else { return false }
        var length: Int32 = 0
        if !aad.isEmpty {
            guard update(context, nil, &length, aad, Int32(aad.count)) == 1 else { return false }
        }
        var written: Int32 = 0
        let ok = output.withUnsafeMutableBufferPointer { out -> Bool in
            guard let base = out.baseAddress else { return false }
            if !input.isEmpty {
                guard update(context, base, &written, input, Int32(input.count)) == 1 else { return false }
            }
            if !encrypt {
                let set = tag.withUnsafeMutableBytes {
                    EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagBytes), $0.baseAddress)
                }
                guard set == 1 else { return false }
            }
            let final = encrypt ? EVP_EncryptFinal_ex : EVP_DecryptFinal_ex
            return final(context, base + Int(written), &length) == 1
        }
        guard ok else { return false }
        if encrypt {
            let got = tag.withUnsafeMutableBytes {
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagBytes), $0.baseAddress)
            }
            return got == 1
        }
        return true
    }
}

/// The name the brief also uses for the at-rest sealing type.
public typealias SecretBox = MasterKey
