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
        if try SQLStateWrites.perform(write, on: db) { return }
        // The writes spelled in this store's own dialect.
        switch write {
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
        default:
            break  // performed above by SQLStateWrites
        }
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
