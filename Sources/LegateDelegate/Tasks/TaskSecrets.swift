import LegateSecrets
import LegateWire
import Synchronization

/// Ring private keys this delegate opened from their sealed copies: in memory only, by ring id and version, so a
/// secret of a ring opens with one HPKE operation after the first. Cleared on SELF_DESTRUCT.
public final class RingKeyCache: Sendable {
    private let keys = Mutex<[String: X25519PrivateKey]>([:])

    /// Creates an empty cache.
    public init() {}

    /// The cached key, or the one `open` returns (then cached).
    func key(ringID: String, version: UInt32, open: () throws(SecretsError) -> X25519PrivateKey)
        throws(SecretsError) -> X25519PrivateKey
    {
        let name = "\(ringID)/\(version)"
        if let key = self.keys.withLock({ $0[name] }) { return key }
        let key = try open()
        self.keys.withLock { $0[name] = key }
        return key
    }

    /// Forgets every key.
    public func clear() { self.keys.withLock { $0.removeAll() } }

    /// Keys held now.
    public var count: Int { self.keys.withLock { $0.count } }
}

/// Opens the secrets of one assignment with the device key: the ring key from this delegate's sealed copy, then
/// each value from its envelope, checking that the binding (secret, version, ring, ring version, policy) is the one
/// the value was sealed with and that the policy allows the task's type.
public enum TaskSecretOpener {
    /// One opened secret: the environment variable name and the value's bytes.
    public struct Opened: Sendable {
        /// Environment variable name.
        public var envName: String
        /// The value (wipe it when done).
        public var value: [UInt8]
    }

    /// Opens every secret of `assignment`, or says which one failed and why (never with the value).
    public static func open(
        _ assignment: TaskAssignment, deviceKey: X25519PrivateKey?, delegateID: String, cache: RingKeyCache
    ) -> Result<[Opened], TaskSecretRefusal> {
        guard let deviceKey else {
            return .failure(
                TaskSecretRefusal(
                    secret: assignment.secrets.first, reason: "this delegate has no device key (--state-dir)"))
        }
        var opened: [Opened] = []
        for secret in assignment.secrets {
            do throws(SecretsError) {
                opened.append(
                    Opened(
                        envName: secret.envName,
                        value: try Self.open(
                            secret, taskType: assignment.type, deviceKey: deviceKey, delegateID: delegateID,
                            cache: cache)))
            } catch {
                for index in opened.indices { Self.wipe(&opened[index].value) }
                return .failure(TaskSecretRefusal(secret: secret, reason: error.description))
            }
        }
        return .success(opened)
    }

    private static func open(
        _ secret: TaskSecret, taskType: String, deviceKey: X25519PrivateKey, delegateID: String, cache: RingKeyCache
    ) throws(SecretsError) -> [UInt8] {
        guard let envelope = secret.envelope, let sealedKey = envelope.sealedDataKey, let copy = secret.ringKeyCopy
        else { throw .malformed(what: "task secret", reason: "the manager sent no sealed value or ring key copy") }
        let policy = SecretPolicy(allowedTaskTypes: secret.policy?.allowedTaskTypes ?? [])
        guard policy.allows(taskType: taskType) else {
            throw .malformed(what: "secret policy", reason: "task type \(taskType) is not allowed to use it")
        }
        let ringKey = try cache.key(ringID: secret.ringID, version: secret.ringVersion) { () throws(SecretsError) in
            try RingKeyCopy.open(
                HPKESealed(encapsulatedKey: copy.encapsulatedKey, ciphertext: copy.ciphertext),
                ringID: secret.ringID, ringVersion: secret.ringVersion, memberDelegateID: delegateID, with: deviceKey)
        }
        let binding = SecretBinding(
            secretID: secret.secretID, version: secret.version, ringID: secret.ringID,
            ringVersion: secret.ringVersion, policy: policy)
        let sealed = SecretEnvelope(
            valueNonce: envelope.valueNonce, valueCiphertext: envelope.valueCiphertext,
            sealedDataKey: HPKESealed(encapsulatedKey: sealedKey.encapsulatedKey, ciphertext: sealedKey.ciphertext))
        return try sealed.open(binding: binding, ringPrivateKey: ringKey)
    }

    /// Overwrites a value's bytes with zeros.
    public static func wipe(_ value: inout [UInt8]) {
        for index in value.indices { value[index] = 0 }
    }
}

/// Why an assignment's secrets could not be opened.
public struct TaskSecretRefusal: Error, Sendable {
    /// The secret that failed, if any.
    public var secret: TaskSecret?
    /// What went wrong (never the value).
    public var reason: String

    /// The task's error text.
    public var message: String {
        let name = self.secret.map { "secret \($0.secretName.isEmpty ? $0.secretID : $0.secretName)" } ?? "a secret"
        return "refused to open \(name): \(self.reason); the task did not run"
    }
}

/// Masks secret values in an attempt's log chunks and result before they leave the delegate. Log chunks go
/// through one streaming masker (a value split across chunks is still masked); the last held-back bytes are
/// sent in an update just before the result.
final class MaskingTaskReporter: TaskReporting {
    private let wrapped: any TaskReporting
    private let values: [[UInt8]]
    private let logMasker: Mutex<SecretMasker>

    /// Wraps `reporter`, masking `values` (each at least `SecretMasker.minimumValueLength` bytes).
    init(wrapping reporter: any TaskReporting, values: [[UInt8]]) throws(SecretsError) {
        self.wrapped = reporter
        self.values = values
        self.logMasker = Mutex(try SecretMasker(values: values))
    }

    func sendUpdate(_ update: TaskUpdate) {
        var masked = update
        if !update.logChunk.isEmpty { masked.logChunk = self.logMasker.withLock { $0.mask(update.logChunk) } }
        self.wrapped.sendUpdate(masked)
    }

    func sendResult(_ result: TaskResult) {
        let tail = self.logMasker.withLock { $0.finish() }
        if !tail.isEmpty {
            var update = TaskUpdate(taskID: result.taskID, attempt: result.attempt)
            update.logChunk = tail
            self.wrapped.sendUpdate(update)
        }
        var masked = result
        masked.output = self.maskWhole(result.output)
        masked.error = String(decoding: self.maskWhole(Array(result.error.utf8)), as: UTF8.self)
        self.wrapped.sendResult(masked)
    }

    private func maskWhole(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty, var masker = try? SecretMasker(values: self.values) else { return bytes }
        return masker.mask(bytes) + masker.finish()
    }
}
