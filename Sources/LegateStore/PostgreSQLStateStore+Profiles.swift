public import LegateCore

// The profile reads of this store: the statements live once, in SQLProfileTables.

extension PostgreSQLStateStore {
    /// Profiles of one account, by name.
    public func profiles(accountID: String) throws(StoreError) -> [ProfileRecord] {
        try self.read { (db) throws(StoreError) in
            try SQLProfileTables.profiles(db, where: "WHERE account_id = ?", [.text(accountID)])
        }
    }

    /// Every profile, by account and name.
    public func allProfiles() throws(StoreError) -> [ProfileRecord] {
        try self.read { (db) throws(StoreError) in try SQLProfileTables.profiles(db, where: "", []) }
    }
}
