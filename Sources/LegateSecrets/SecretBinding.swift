/// Which task types may receive a secret. Part of the associated data, so the manager cannot loosen it.
public struct SecretPolicy: Sendable, Hashable {
    /// The task types allowed, sorted by their UTF-8 bytes and without duplicates; empty means any task type.
    public let allowedTaskTypes: [String]

    /// A policy allowing `allowedTaskTypes` (order and duplicates do not matter); empty allows any task type.
    public init(allowedTaskTypes: [String]) {
        var unique: [[UInt8]] = []
        for bytes in allowedTaskTypes.map({ Array($0.utf8) }).sorted(by: { $0.lexicographicallyPrecedes($1) })
        where unique.last != bytes {
            unique.append(bytes)
        }
        self.allowedTaskTypes = unique.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A policy allowing every task type.
    public static let anyTaskType = SecretPolicy(allowedTaskTypes: [])

    /// True when a task of `taskType` may receive the secret (byte-wise comparison).
    public func allows(taskType: String) -> Bool {
        self.allowedTaskTypes.isEmpty || self.allowedTaskTypes.contains { $0.utf8.elementsEqual(taskType.utf8) }
    }

    /// The canonical encoding: `"LGSP"`, format byte `0x01`, the count as a big-endian UInt32, then each task type
    /// (sorted by bytes, unique) as a big-endian UInt32 length followed by its UTF-8 bytes.
    public var canonicalEncoding: [UInt8] {
        var out = Array("LGSP".utf8) + [1]
        appendUInt32(&out, UInt32(truncatingIfNeeded: self.allowedTaskTypes.count))
        for taskType in self.allowedTaskTypes { appendField(&out, Array(taskType.utf8)) }
        return out
    }
}

/// What a sealed secret version belongs to: the associated data of both encryption layers, so a ciphertext opens
/// only under the same secret, version, ring, ring version and policy it was sealed for.
public struct SecretBinding: Sendable, Hashable {
    /// The secret's identifier.
    public var secretID: String
    /// The secret's version (each new value is a new version).
    public var version: UInt32
    /// The key ring the data key is sealed to.
    public var ringID: String
    /// The version of that key ring's key pair.
    public var ringVersion: UInt32
    /// Which task types may receive the value.
    public var policy: SecretPolicy

    /// A binding of the given fields.
    public init(secretID: String, version: UInt32, ringID: String, ringVersion: UInt32, policy: SecretPolicy) {
        self.secretID = secretID
        self.version = version
        self.ringID = ringID
        self.ringVersion = ringVersion
        self.policy = policy
    }

    /// The associated data, byte for byte (integers big-endian; every variable field has a UInt32 length prefix,
    /// so no two bindings share an encoding):
    ///
    ///     "LGSB" 0x01                        format tag and version
    ///     u32 len, secretID UTF-8
    ///     u32 version
    ///     u32 len, ringID UTF-8
    ///     u32 ringVersion
    ///     u32 len, policy.canonicalEncoding
    public var associatedData: [UInt8] {
        var out = Array("LGSB".utf8) + [1]
        appendField(&out, Array(self.secretID.utf8))
        appendUInt32(&out, self.version)
        appendField(&out, Array(self.ringID.utf8))
        appendUInt32(&out, self.ringVersion)
        appendField(&out, self.policy.canonicalEncoding)
        return out
    }
}

/// Appends `value` big-endian.
func appendUInt32(_ out: inout [UInt8], _ value: UInt32) {
    out.append(contentsOf: bigEndian(value))
}

/// Appends a UInt32 length prefix and then `bytes`.
func appendField(_ out: inout [UInt8], _ bytes: [UInt8]) {
    appendUInt32(&out, UInt32(truncatingIfNeeded: bytes.count))
    out.append(contentsOf: bytes)
}
