/// Every failure of the secrets cryptography and the device key file. Messages name what happened and what to do;
/// they never contain key bytes, data keys or secret values.
public enum SecretsError: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: - Keys
    /// A raw key has the wrong number of bytes (`what` names the key, e.g. "X25519 public key").
    case invalidKeyLength(what: String, expected: Int, found: Int)
    /// The peer's X25519 public key is a low-order point: the shared secret would be all zeros.
    case invalidPublicKey
    /// libcrypto failed an operation that cannot fail on valid input (out of memory or a broken library).
    case cryptoFailure(operation: String)

    // MARK: - Sealed data
    /// Authentication failed: wrong key, wrong binding or associated data, or the bytes were altered.
    case openFailed(what: String)
    /// A sealed field is too short or has an impossible length, so it cannot have been produced by `seal`.
    case malformed(what: String, reason: String)
    /// A re-seal would change a binding field other than the ring version (which must increase).
    case bindingChangeRefused(field: String)
    /// The opened ring private key does not belong to the ring public key the caller expects.
    case ringKeyMismatch
    /// A context sealed or opened more messages than its nonce space allows.
    case messageLimitReached

    // MARK: - Output masking
    /// A secret value is shorter than `SecretMasker.minimumValueLength`, too short to be masked without masking
    /// ordinary output.
    case valueTooShortToMask(length: Int, minimum: Int)

    // MARK: - Device key file
    /// The key directory is missing and cannot be created, or is not a directory.
    case keyDirectoryUnusable(path: String, reason: String)
    /// The key file exists but could not be read, written, synced, renamed or removed.
    case keyFileIO(path: String, operation: String, reason: String)
    /// The key file is readable by group or others, or owned by another user.
    case keyFileInsecure(path: String, mode: UInt32)
    /// The key file is not a regular file of exactly 32 bytes.
    case keyFileCorrupt(path: String, reason: String)

    /// What happened and what to do.
    public var description: String {
        switch self {
        case .invalidKeyLength(let what, let expected, let found):
            return "\(what) must be \(expected) bytes, found \(found); pass the raw key, not an encoded form"
        case .invalidPublicKey:
            return "the X25519 public key is a low-order point and gives no shared secret; use the peer's real key"
        case .cryptoFailure(let operation):
            return "libcrypto failed to \(operation); check the OpenSSL installation and available memory"
        case .openFailed(let what):
            return "\(what) did not open: wrong key, wrong binding, or the bytes were altered; "
                + "fetch it again and check the key ring membership"
        case .malformed(let what, let reason):
            return "\(what) is malformed (\(reason)); it was not produced by seal, fetch it again"
        case .bindingChangeRefused(let field):
            return "re-sealing may only raise the ring version, not change \(field); seal a new secret version instead"
        case .ringKeyMismatch:
            return "the opened ring key does not match the ring's public key; ask an admin to re-share the key ring"
        case .messageLimitReached:
            return "the HPKE context has sealed its maximum number of messages; set up a new context"
        case .valueTooShortToMask(let length, let minimum):
            return "a secret value of \(length) bytes is shorter than \(minimum) bytes and cannot be masked in output; "
                + "use a longer value"
        case .keyDirectoryUnusable(let path, let reason):
            return "key directory \(path) is unusable (\(reason)); create it as a directory owned by this user"
        case .keyFileIO(let path, let operation, let reason):
            return "could not \(operation) key file \(path) (\(reason)); check the disk and the file's permissions"
        case .keyFileInsecure(let path, let mode):
            return "key file \(path) has mode \(String(mode & 0o777, radix: 8)) or another owner; "
                + "run `chmod 600 \(path)` as its owner, or delete it to re-register the device"
        case .keyFileCorrupt(let path, let reason):
            return "key file \(path) is corrupt (\(reason)); restore it from backup or delete it to re-register"
        }
    }
}

extension SecretsError {
    /// The same error with `what` naming the sealed item, for failures the caller knows more about than HPKE does.
    func naming(_ what: String) -> SecretsError {
        switch self {
        case .openFailed: return .openFailed(what: what)
        case .malformed(_, let reason): return .malformed(what: what, reason: reason)
        default: return self
        }
    }
}
