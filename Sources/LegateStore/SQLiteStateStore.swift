import Foundation
public import LegateCore
import Synchronization

/// The durable StateStore: one SQLite file in WAL mode with synchronous=FULL, so a batch is on disk
/// when `apply` returns and survives a killed process.
public final class SQLiteStateStore: StateStore {
    /// The schema version of the open database (equals the newest migration).
    public let schemaVersion: Int
    let connection: Mutex<SQLiteConnection>
    /// The node this store acts for (tasks it inserts are owned by it); nil until `adoptNode`.
    let owner = Mutex<String?>(nil)

    /// Opens or creates the database at `path` and migrates it; refuses a database from a newer build.
    public init(path: String) throws(StoreError) {
        let connection = try SQLiteConnection(path: path)
        do throws(StoreError) {
            try connection.execute("PRAGMA busy_timeout = 5000", operation: "set busy timeout")
            let mode = try connection.query("PRAGMA journal_mode = WAL", [], operation: "enable WAL") { $0.text(0) }
            guard mode.first?.lowercased() == "wal" else {
                throw .openFailed(path: path, reason: "journal_mode WAL not available (got \(mode.first ?? "none"))")
            }
            try connection.execute(
                "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", operation: "configure durability")
            // 64 MiB of page cache: the task tables' indexes stay in memory instead of being re-read per write.
            try connection.execute("PRAGMA cache_size = -65536", operation: "set cache size")
            self.schemaVersion = try Migration.migrate(connection)
        } catch {
            throw Self.openError(error, path: path)
        }
        self.connection = Mutex(connection)
    }

    private static func openError(_ error: StoreError, path: String) -> StoreError {
        switch error {
        case .sqlite(_, let message, let operation): .openFailed(path: path, reason: "\(operation): \(message)")
        default: error
        }
    }

    /// Runs raw SQL on the connection; tests use it to set `max_page_count` or inspect the file.
    func executeForTesting(_ sql: String) throws(StoreError) {
        try self.connection.withLock { (connection) throws(StoreError) in
            try connection.execute(sql, operation: "test SQL")
        }
    }

    // MARK: - Writes

    /// Applies the batch in one IMMEDIATE transaction; on any error nothing of it is written.
    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        guard !writes.isEmpty else { return }
        try self.connection.withLock { (connection) throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                let owner = self.owner.withLock { $0 }
                for write in writes {
                    try Self.perform(write, on: connection)
                    if let owner, case .insertTask(let task) = write {
                        try SQLNodeTables.own(task.id, by: owner, on: connection)
                    }
                }
            }
        }
    }

    // Writes that run for every heartbeat batch and audited call, found by identity rather than by their text.
    private static let recordHeartbeat = SQLStatement("UPDATE delegates SET last_heartbeat_at = ? WHERE id = ?")
    private static let appendAudit = SQLStatement(
        "INSERT INTO audit (at, account_id, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")

    private static func perform(_ write: StoreWrite, on db: SQLiteConnection) throws(StoreError) {
        switch write {
        case .insertAccount(let account):
            try db.run(
                "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
                [.text(account.id), .text(account.name), .int(account.createdAt)], operation: "insert account")
        case .insertToken(let token):
            try db.run(
                """
                INSERT INTO tokens (id, account_id, name, scope, sealed_value, status, created_at, created_by,
                revoked_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, Self.tokenValues(token), operation: "insert token")
        case .updateToken(let token):
            let changed = try db.run(
                """
                UPDATE tokens SET account_id = ?, name = ?, scope = ?, sealed_value = ?, status = ?, created_at = ?,
                created_by = ?, revoked_at = ?, expires_at = ?, last_used_at = ? WHERE id = ?
                """, Array(Self.tokenValues(token).dropFirst()) + [.text(token.id)], operation: "update token")
            if changed == 0 { throw .constraint(ConstraintText.missingToken(token.id)) }
        case .deleteToken(let id):
            let status = try db.query("SELECT status FROM tokens WHERE id = ?", [.text(id)], operation: "read token") {
                $0.text(0)
            }
            guard let current = status.first else { throw .constraint(ConstraintText.missingToken(id)) }
            guard current == TokenStatus.revoked.rawValue else { throw .constraint(ConstraintText.activeToken(id)) }
            try db.run("DELETE FROM tokens WHERE id = ?", [.text(id)], operation: "delete token")
        case .upsertDelegate(let delegate):
            try db.run(
                """
                INSERT INTO delegates (id, account_id, instance_id, name, hostname, ip_address, version, tags,
                task_types, profile, token_id, status, first_seen_at, connected_since, last_heartbeat_at,
                disconnected_at, decision_reason, pending_expires_at, device_public_key, node_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, instance_id = excluded.instance_id,
                name = excluded.name, hostname = excluded.hostname, ip_address = excluded.ip_address,
                version = excluded.version, tags = excluded.tags, task_types = excluded.task_types,
                profile = excluded.profile, token_id = excluded.token_id, status = excluded.status,
                first_seen_at = excluded.first_seen_at, connected_since = excluded.connected_since,
                last_heartbeat_at = excluded.last_heartbeat_at, disconnected_at = excluded.disconnected_at,
                decision_reason = excluded.decision_reason, pending_expires_at = excluded.pending_expires_at,
                device_public_key = excluded.device_public_key, node_id = excluded.node_id
                """, try Self.delegateValues(delegate), operation: "upsert delegate")
        case .deleteDelegate(let id):
            let changed = try db.run("DELETE FROM delegates WHERE id = ?", [.text(id)], operation: "delete delegate")
            if changed == 0 { throw .constraint(ConstraintText.missingDelegate(id)) }
        case .recordHeartbeats(let marks):
            for mark in marks {
                try db.run(Self.recordHeartbeat, [.int(mark.at), .text(mark.delegateID)], operation: "record heartbeat")
            }
        case .appendAudit(let record):
            try db.run(
                Self.appendAudit,
                [
                    .int(record.at), .text(record.accountID), .text(record.actor), .text(record.action),
                    .text(record.target), .text(record.outcome), .text(record.detail),
                ], operation: "append audit")
        case .upsertAdminKey(let key):
            try db.run(
                """
                INSERT INTO admin_keys (id, account_id, name, scope, secret_hash, permissions, created_at, created_by,
                revoked_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope,
                secret_hash = excluded.secret_hash, permissions = excluded.permissions,
                revoked_at = excluded.revoked_at, expires_at = excluded.expires_at
                """,
                [
                    .text(key.id), .text(key.accountID), .text(key.name), .text(key.scope), .blob(key.secretHash),
                    .text(try StringList.encode(key.permissions)), .int(key.createdAt), .text(key.createdBy),
                    .int(key.revokedAt), .int(key.expiresAt),
                ], operation: "upsert admin key")
        case .insertTask, .updateTask, .appendTaskLog:
            try Self.performTaskWrite(write, on: db)
        case .setMetadata(let key, let value):
            try db.run(
                "INSERT INTO metadata (key, value) VALUES (?, ?) "
                    + "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [.text(key), .text(value)], operation: "set metadata")
        case .insertNodeControl(let control):
            try SQLNodeTables.insertControl(control, on: db)
        case .upsertProfile, .deleteProfile:
            try Self.performProfileWrite(write, on: db)
        case .upsertKeyRing, .putRingKeyCopies, .upsertSecret, .insertSecretVersion, .deleteSecret,
            .replaceSecretVersions:
            try Self.performSecretWrite(write, on: db)
        }
    }

    private static func tokenValues(_ token: TokenRecord) -> [SQLValue] {
        [
            .text(token.id), .text(token.accountID), .text(token.name), .text(token.scope), .blob(token.sealedValue),
            .text(token.status.rawValue), .int(token.createdAt), .text(token.createdBy), .int(token.revokedAt),
            .int(token.expiresAt), .int(token.lastUsedAt),
        ]
    }

    private static func delegateValues(_ delegate: DelegateRecord) throws(StoreError) -> [SQLValue] {
        [
            .text(delegate.id), .text(delegate.accountID), .text(delegate.instanceID), .text(delegate.name),
            .text(delegate.hostname), .text(delegate.ipAddress), .text(delegate.version),
            .text(try StringList.encode(delegate.tags)), .text(try StringList.encode(delegate.taskTypes)),
            .text(delegate.profile), .text(delegate.tokenID), .text(delegate.status.rawValue),
            .int(delegate.firstSeenAt), .int(delegate.connectedSince), .int(delegate.lastHeartbeatAt),
            .int(delegate.disconnectedAt), delegate.decisionReason.map { .text($0) } ?? .null,
            .int(delegate.pendingExpiresAt), .blob(delegate.devicePublicKey),
            delegate.nodeID.map { .text($0) } ?? .null,
        ]
    }

    // MARK: - Reads

    func read<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try self.connection.withLock { (connection) throws(StoreError) -> T in try body(connection) }
    }

    /// The account with this id, if any.
    public func account(id: String) throws(StoreError) -> AccountRecord? {
        try self.read { (db) throws(StoreError) in try SQLStateReads.accounts(db, where: "WHERE id = ?", [.text(id)]).first }
    }

    /// All accounts, oldest first.
    public func accounts() throws(StoreError) -> [AccountRecord] {
        try self.read { (db) throws(StoreError) in try SQLStateReads.accounts(db, where: "", []) }
    }

    /// The token with this id, if any.
    public func token(id: String) throws(StoreError) -> TokenRecord? {
        try self.read { (db) throws(StoreError) in try SQLStateReads.tokens(db, where: "WHERE id = ?", [.text(id)]).first }
    }

    /// Tokens of one account, oldest first.
    public func tokens(accountID: String) throws(StoreError) -> [TokenRecord] {
        try self.read { (db) throws(StoreError) in
            try SQLStateReads.tokens(db, where: "WHERE account_id = ?", [.text(accountID)])
        }
    }

    /// Every token, oldest first.
    public func allTokens() throws(StoreError) -> [TokenRecord] {
        try self.read { (db) throws(StoreError) in try SQLStateReads.tokens(db, where: "", []) }
    }

    /// The delegate with this id, if any.
    public func delegate(id: String) throws(StoreError) -> DelegateRecord? {
        try self.read { (db) throws(StoreError) in try SQLStateReads.delegates(db, where: "WHERE id = ?", [.text(id)]).first }
    }

    /// The delegate of an account with this instance id, if any.
    public func delegate(accountID: String, instanceID: String) throws(StoreError) -> DelegateRecord? {
        try self.read { (db) throws(StoreError) in
            try SQLStateReads.delegates(
                db, where: "WHERE account_id = ? AND instance_id = ?", [.text(accountID), .text(instanceID)]
            ).first
        }
    }

    /// Delegates of one account, oldest first.
    public func delegates(accountID: String) throws(StoreError) -> [DelegateRecord] {
        try self.read { (db) throws(StoreError) in
            try SQLStateReads.delegates(db, where: "WHERE account_id = ?", [.text(accountID)])
        }
    }

    /// Every delegate, oldest first.
    public func allDelegates() throws(StoreError) -> [DelegateRecord] {
        try self.read { (db) throws(StoreError) in try SQLStateReads.delegates(db, where: "", []) }
    }

    /// Audit rows passing `filter`, newest first, at most `limit`.
    public func auditRecords(accountID: String?, filter: AuditFilter, limit: Int) throws(StoreError) -> [AuditRecord] {
        try self.read { (db) throws(StoreError) in
            try SQLStateReads.auditRecords(db, accountID: accountID, filter: filter, limit: limit)
        }
    }

    /// A metadata value, if set.
    public func metadata(key: String) throws(StoreError) -> String? {
        try self.read { (db) throws(StoreError) in
            try db.query("SELECT value FROM metadata WHERE key = ?", [.text(key)], operation: "read metadata") {
                $0.text(0)
            }.first
        }
    }

    /// The admin API key with this id, if any.
    public func adminKey(id: String) throws(StoreError) -> AdminKeyRecord? {
        try self.read { (db) throws(StoreError) in try SQLStateReads.adminKeys(db, where: "WHERE id = ?", [.text(id)]).first }
    }

    /// Admin API keys of one account, oldest first.
    public func adminKeys(accountID: String) throws(StoreError) -> [AdminKeyRecord] {
        try self.read { (db) throws(StoreError) in
            try SQLStateReads.adminKeys(db, where: "WHERE account_id = ?", [.text(accountID)])
        }
    }

}

/// Tags and task types are stored as JSON arrays of strings.
enum StringList {
    static func encode(_ list: [String]) throws(StoreError) -> String {
        if list.isEmpty { return "[]" }  // the common case, without a JSONEncoder
        guard let data = try? JSONEncoder().encode(list), let text = String(data: data, encoding: .utf8) else {
            throw .constraint("cannot encode string list of \(list.count) items as JSON")
        }
        return text
    }

    static func decode(_ text: String, path: String) throws(StoreError) -> [String] {
        guard let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
            throw .corrupt(path: path, reason: "a tags/taskTypes column is not a JSON string array")
        }
        return list
    }
}
