// Key rings and secrets as the manager stores them: public keys, sealed copies and ciphertext only. Nothing here
// opens a secret; the private halves exist only sealed to delegate device keys.

/// Which delegates belong to a key ring: every condition set must match (an empty rule matches every delegate).
public struct RingMemberRule: Sendable, Equatable, Codable {
    /// Registered with this profile, when not empty.
    public var profile: String
    /// Has all these tags.
    public var tags: [String]
    /// Authenticates with this token, when not empty.
    public var tokenID: String

    /// Creates a rule.
    public init(profile: String = "", tags: [String] = [], tokenID: String = "") {
        self.profile = profile
        self.tags = tags
        self.tokenID = tokenID
    }

    /// Whether `delegate` is approved and matches the rule (the token's liveness is the caller's to check).
    public func admits(_ delegate: DelegateRecord) -> Bool {
        guard delegate.status == .active || delegate.status == .disconnected else { return false }
        if !self.profile.isEmpty, delegate.profile != self.profile { return false }
        if !self.tokenID.isEmpty, delegate.tokenID != self.tokenID { return false }
        return self.tags.allSatisfy(delegate.tags.contains)
    }

    /// The rule in words, for listings.
    public var summary: String {
        var parts: [String] = []
        if !self.profile.isEmpty { parts.append("profile=\(self.profile)") }
        if !self.tags.isEmpty { parts.append("tags=\(self.tags.joined(separator: ","))") }
        if !self.tokenID.isEmpty { parts.append("token=\(self.tokenID)") }
        return parts.isEmpty ? "every approved delegate" : parts.joined(separator: " ")
    }
}

/// A key ring: a named set of delegates sharing a ring key pair whose private half exists only sealed to members.
public struct KeyRingRecord: Sendable, Equatable {
    /// Ring identifier (`krg_...`), bound into every secret sealed to it.
    public var id: String
    /// Owning account.
    public var accountID: String
    /// Unique name in the account.
    public var name: String
    /// The creating key's scope; only keys whose scope covers it see the ring.
    public var scope: Scope
    /// Who belongs.
    public var memberRule: RingMemberRule
    /// Current ring key version; 0 until the first key is uploaded.
    public var ringVersion: UInt32
    /// Current ring public key (X25519, 32 bytes); empty until the first key is uploaded.
    public var publicKey: [UInt8]
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64
    /// Who created it.
    public var createdBy: String
    /// Last change, Unix milliseconds.
    public var updatedAt: Int64

    /// Creates a ring record.
    public init(
        id: String, accountID: String, name: String, scope: Scope, memberRule: RingMemberRule,
        ringVersion: UInt32 = 0, publicKey: [UInt8] = [], createdAt: Int64, createdBy: String, updatedAt: Int64
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.scope = scope
        self.memberRule = memberRule
        self.ringVersion = ringVersion
        self.publicKey = publicKey
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.updatedAt = updatedAt
    }
}

/// One ring key version's private key sealed (HPKE) to one member's device key.
public struct RingKeyCopyRecord: Sendable, Equatable {
    /// The ring.
    public var ringID: String
    /// The ring key version sealed.
    public var ringVersion: UInt32
    /// The member it is sealed to.
    public var delegateID: String
    /// Fingerprint of the device key it is sealed to.
    public var deviceKeyFingerprint: String
    /// HPKE encapsulated key.
    public var encapsulatedKey: [UInt8]
    /// HPKE ciphertext of the ring private key.
    public var ciphertext: [UInt8]

    /// Creates a copy record.
    public init(
        ringID: String, ringVersion: UInt32, delegateID: String, deviceKeyFingerprint: String,
        encapsulatedKey: [UInt8], ciphertext: [UInt8]
    ) {
        self.ringID = ringID
        self.ringVersion = ringVersion
        self.delegateID = delegateID
        self.deviceKeyFingerprint = deviceKeyFingerprint
        self.encapsulatedKey = encapsulatedKey
        self.ciphertext = ciphertext
    }
}

/// A named secret: metadata; its values live in `SecretVersionRecord`s, sealed.
public struct SecretRecord: Sendable, Equatable {
    /// Secret identifier (`sec_...`), bound into every version's ciphertext.
    public var id: String
    /// Owning account.
    public var accountID: String
    /// Unique name in the account.
    public var name: String
    /// The ring its values are sealed to.
    public var ringID: String
    /// The creating key's scope.
    public var scope: Scope
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64
    /// Who created it.
    public var createdBy: String
    /// Last change (a new version), Unix milliseconds.
    public var updatedAt: Int64
    /// Last time a delegate reported opening it, Unix milliseconds.
    public var lastUsedAt: Int64?

    /// Creates a secret record.
    public init(
        id: String, accountID: String, name: String, ringID: String, scope: Scope, createdAt: Int64,
        createdBy: String, updatedAt: Int64, lastUsedAt: Int64? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.ringID = ringID
        self.scope = scope
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.updatedAt = updatedAt
        self.lastUsedAt = lastUsedAt
    }
}

/// One version of a secret: its policy and its envelope (ciphertext), sealed to one ring key version.
public struct SecretVersionRecord: Sendable, Equatable {
    /// The secret.
    public var secretID: String
    /// 1, 2, ...
    public var version: UInt32
    /// The ring key version the data key is sealed to.
    public var ringVersion: UInt32
    /// Task types that may use the value; empty: any.
    public var allowedTaskTypes: [String]
    /// The envelope as its wire message (`SecretEnvelopeData`) bytes.
    public var envelope: [UInt8]
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64

    /// Creates a version record.
    public init(
        secretID: String, version: UInt32, ringVersion: UInt32, allowedTaskTypes: [String], envelope: [UInt8],
        createdAt: Int64
    ) {
        self.secretID = secretID
        self.version = version
        self.ringVersion = ringVersion
        self.allowedTaskTypes = allowedTaskTypes
        self.envelope = envelope
        self.createdAt = createdAt
    }
}

/// A task's use of a secret: the environment variable the handler sees and the secret's name and id.
public struct TaskSecretUse: Sendable, Equatable, Codable {
    /// Environment variable name.
    public var envName: String
    /// Secret name as submitted.
    public var secretName: String
    /// Secret id, resolved at submission.
    public var secretID: String
    /// The ring holding the secret: only its members may run the task.
    public var ringID: String
    /// The ring's name, for waiting reasons.
    public var ringName: String

    /// Creates a use.
    public init(envName: String, secretName: String, secretID: String, ringID: String, ringName: String = "") {
        self.envName = envName
        self.secretName = secretName
        self.secretID = secretID
        self.ringID = ringID
        self.ringName = ringName
    }
}
