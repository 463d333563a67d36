public import LegateCore

// The key ring and secret reads of this store: the statements live once, in SQLSecretTables.

extension PostgreSQLStateStore {
    /// Every key ring, by account and name.
    public func allKeyRings() throws(StoreError) -> [KeyRingRecord] {
        try self.read { (db) throws(StoreError) in try SQLSecretTables.keyRings(db) }
    }

    /// Every sealed ring key copy, by ring, version and delegate.
    public func allRingKeyCopies() throws(StoreError) -> [RingKeyCopyRecord] {
        try self.read { (db) throws(StoreError) in try SQLSecretTables.ringKeyCopies(db) }
    }

    /// Every secret, by account and name.
    public func allSecrets() throws(StoreError) -> [SecretRecord] {
        try self.read { (db) throws(StoreError) in try SQLSecretTables.secrets(db) }
    }

    /// Every secret version, by secret and version.
    public func allSecretVersions() throws(StoreError) -> [SecretVersionRecord] {
        try self.read { (db) throws(StoreError) in try SQLSecretTables.secretVersions(db) }
    }
}
