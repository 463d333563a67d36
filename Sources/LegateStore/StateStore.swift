public import LegateCore

/// Durable state of the manager: accounts, tokens, delegates, profiles, admin keys, tasks, audit, metadata.
/// Everything the manager reads or writes goes through this protocol, so a backend is one conforming type that
/// passes the store contract tests. Implementations are thread-safe.
public protocol StateStore: TaskStore, SecretStore, NodeStore {
    /// Applies a batch in ONE transaction: all or nothing, durable when it returns.
    func apply(_ writes: [StoreWrite]) throws(StoreError)
    /// The account with this id, if any.
    func account(id: String) throws(StoreError) -> AccountRecord?
    /// All accounts, oldest first.
    func accounts() throws(StoreError) -> [AccountRecord]
    /// The token with this id, if any.
    func token(id: String) throws(StoreError) -> TokenRecord?
    /// Tokens of one account, oldest first.
    func tokens(accountID: String) throws(StoreError) -> [TokenRecord]
    /// Every token, oldest first (loaded at manager start).
    func allTokens() throws(StoreError) -> [TokenRecord]
    /// The delegate with this id, if any.
    func delegate(id: String) throws(StoreError) -> DelegateRecord?
    /// The delegate of an account with this instance id, if any.
    func delegate(accountID: String, instanceID: String) throws(StoreError) -> DelegateRecord?
    /// Delegates of one account, oldest first.
    func delegates(accountID: String) throws(StoreError) -> [DelegateRecord]
    /// Every delegate, oldest first.
    func allDelegates() throws(StoreError) -> [DelegateRecord]
    /// Audit rows passing `filter`, newest first, at most `limit`; all accounts when `accountID` is nil.
    func auditRecords(accountID: String?, filter: AuditFilter, limit: Int) throws(StoreError) -> [AuditRecord]
    /// The admin API key with this id, if any.
    func adminKey(id: String) throws(StoreError) -> AdminKeyRecord?
    /// Admin API keys of one account, oldest first.
    func adminKeys(accountID: String) throws(StoreError) -> [AdminKeyRecord]
    /// A metadata value, if set.
    func metadata(key: String) throws(StoreError) -> String?
    /// Profiles of one account, by name.
    func profiles(accountID: String) throws(StoreError) -> [ProfileRecord]
    /// Every profile, by account and name (loaded at manager start).
    func allProfiles() throws(StoreError) -> [ProfileRecord]
    /// Deletes audit rows older than `retention` at `nowMilliseconds`, oldest first and in bounded batches;
    /// returns how many went (call again later for the rest).
    func deleteExpiredAudit(_ retention: AuditRetention, nowMilliseconds: Int64) throws(StoreError) -> Int
}

extension StateStore {
    /// Audit rows, newest first, at most `limit`; all accounts when `accountID` is nil.
    public func auditRecords(accountID: String?, limit: Int) throws(StoreError) -> [AuditRecord] {
        try self.auditRecords(accountID: accountID, filter: AuditFilter(), limit: limit)
    }
}

/// Ordering shared by both stores so they return identical lists.
enum RecordOrder {
    /// Oldest first, ties broken by id.
    static func accounts(_ a: AccountRecord, _ b: AccountRecord) -> Bool {
        (a.createdAt, a.id) < (b.createdAt, b.id)
    }
    /// Oldest first, ties broken by id.
    static func tokens(_ a: TokenRecord, _ b: TokenRecord) -> Bool { (a.createdAt, a.id) < (b.createdAt, b.id) }
    /// By account, then name.
    static func profiles(_ a: ProfileRecord, _ b: ProfileRecord) -> Bool {
        (a.accountID, a.name) < (b.accountID, b.name)
    }
    /// Oldest first, ties broken by id.
    static func delegates(_ a: DelegateRecord, _ b: DelegateRecord) -> Bool {
        (a.firstSeenAt, a.id) < (b.firstSeenAt, b.id)
    }
}

/// Constraint texts shared by both stores.
enum ConstraintText {
    static func missingToken(_ id: String) -> String { "token \(id) does not exist; create it first" }
    static func activeToken(_ id: String) -> String { "token \(id) is active; revoke it before deleting it" }
    static func missingDelegate(_ id: String) -> String { "delegate \(id) does not exist" }
    static func missingProfile(_ id: String) -> String { "profile \(id) does not exist" }
}
