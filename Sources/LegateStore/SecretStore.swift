public import LegateCore

/// The key ring and secret tables of a store: public keys, sealed ring key copies and sealed secret versions. The
/// manager loads them all at start and keeps them in memory; writes go through `StateStore.apply`.
public protocol SecretStore: AnyObject, Sendable {
    /// Every key ring, by account and name.
    func allKeyRings() throws(StoreError) -> [KeyRingRecord]
    /// Every sealed ring key copy, by ring, version and delegate.
    func allRingKeyCopies() throws(StoreError) -> [RingKeyCopyRecord]
    /// Every secret, by account and name.
    func allSecrets() throws(StoreError) -> [SecretRecord]
    /// Every secret version, by secret and version.
    func allSecretVersions() throws(StoreError) -> [SecretVersionRecord]
}

/// Constraint texts of the secret tables, shared by every store.
enum SecretConstraintText {
    static func missingSecret(_ id: String) -> String { "secret \(id) does not exist" }
    static func duplicateVersion(_ id: String, _ version: UInt32) -> String {
        "secret \(id) already has version \(version)"
    }
    static let ringName = "UNIQUE constraint failed: key_rings.account_id, key_rings.name"
    static let secretName = "UNIQUE constraint failed: secrets.account_id, secrets.name"
}

/// The secret tables of the in-memory store, with the SQL stores' constraints and ordering.
struct SecretTables {
    var rings: [String: KeyRingRecord] = [:]
    var copies: [String: RingKeyCopyRecord] = [:]
    var secrets: [String: SecretRecord] = [:]
    var versions: [String: SecretVersionRecord] = [:]

    private static func copyKey(_ copy: RingKeyCopyRecord) -> String {
        "\(copy.ringID)\u{0}\(copy.ringVersion)\u{0}\(copy.delegateID)"
    }

    private static func versionKey(_ id: String, _ version: UInt32) -> String { "\(id)\u{0}\(version)" }

    /// Applies one secret write; `accountExists` checks the foreign key.
    mutating func perform(_ write: StoreWrite, accountExists: (String) -> Bool) throws(StoreError) {
        switch write {
        case .upsertKeyRing(let ring):
            guard accountExists(ring.accountID) else { throw .constraint("upsert key ring: FOREIGN KEY constraint failed") }
            guard !self.rings.values.contains(where: { $0.id != ring.id && $0.accountID == ring.accountID && $0.name == ring.name })
            else { throw .constraint("upsert key ring: \(SecretConstraintText.ringName)") }
            self.rings[ring.id] = ring
        case .putRingKeyCopies(let copies):
            for copy in copies { self.copies[Self.copyKey(copy)] = copy }
        case .upsertSecret(let secret):
            guard accountExists(secret.accountID) else { throw .constraint("upsert secret: FOREIGN KEY constraint failed") }
            guard !self.secrets.values.contains(where: {
                $0.id != secret.id && $0.accountID == secret.accountID && $0.name == secret.name
            }) else { throw .constraint("upsert secret: \(SecretConstraintText.secretName)") }
            self.secrets[secret.id] = secret
        case .insertSecretVersion(let version):
            guard self.secrets[version.secretID] != nil else {
                throw .constraint(SecretConstraintText.missingSecret(version.secretID))
            }
            let key = Self.versionKey(version.secretID, version.version)
            guard self.versions[key] == nil else {
                throw .constraint(SecretConstraintText.duplicateVersion(version.secretID, version.version))
            }
            self.versions[key] = version
        case .replaceSecretVersions(let versions):
            for version in versions {
                let key = Self.versionKey(version.secretID, version.version)
                guard var stored = self.versions[key] else {
                    throw .constraint(SecretConstraintText.missingSecret(version.secretID))
                }
                stored.ringVersion = version.ringVersion
                stored.envelope = version.envelope
                self.versions[key] = stored
            }
        case .deleteSecret(let id):
            guard self.secrets.removeValue(forKey: id) != nil else {
                throw .constraint(SecretConstraintText.missingSecret(id))
            }
            self.versions = self.versions.filter { $0.value.secretID != id }
        default:
            break
        }
    }

    var sortedRings: [KeyRingRecord] { self.rings.values.sorted { ($0.accountID, $0.name) < ($1.accountID, $1.name) } }
    var sortedCopies: [RingKeyCopyRecord] {
        self.copies.values.sorted { ($0.ringID, $0.ringVersion, $0.delegateID) < ($1.ringID, $1.ringVersion, $1.delegateID) }
    }
    var sortedSecrets: [SecretRecord] {
        self.secrets.values.sorted { ($0.accountID, $0.name) < ($1.accountID, $1.name) }
    }
    var sortedVersions: [SecretVersionRecord] {
        self.versions.values.sorted { ($0.secretID, $0.version) < ($1.secretID, $1.version) }
    }
}
