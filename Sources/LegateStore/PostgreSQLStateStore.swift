import Foundation
public import LegateCore
import Synchronization

/// A StateStore on a PostgreSQL server: writes on one connection, each `apply` in one transaction committed
/// (durable, with the server's default `synchronous_commit`) before it returns; reads on a second connection.
/// Every statement is prepared once per connection and its values are bound, never written into the SQL.
/// A lost connection fails the call with the retryable `StoreError.unavailable`, and the next call reconnects.
public final class PostgreSQLStateStore: StateStore {
    /// The schema version of the database (equals the newest PostgreSQL migration).
    public let schemaVersion: Int
    /// The server address without any password, as shown in errors and logs.
    public let address: String
    /// The connection string, for connections of their own (the notification listener).
    let url: String
    private let writer: Mutex<PostgreSQLConnection>
    private let reader: Mutex<PostgreSQLConnection>
    /// The node this store acts for (tasks it inserts are owned by it); nil until `adoptNode`.
    let owner = Mutex<String?>(nil)

    /// Connects to `url` (`postgresql://user@host:port/database`, or a libpq key=value string) and migrates the
    /// database; refuses a schema from a newer build. Throws `.unavailable` naming the address when the server
    /// cannot be reached.
    public init(url: String) throws(StoreError) {
        let address = PostgreSQLAddress.redacted(url)
        let writer = try PostgreSQLConnection(connectionString: url, address: address)
        self.schemaVersion = try PostgreSQLMigration.migrate(writer)
        let reader = try PostgreSQLConnection(connectionString: url, address: address)
        self.address = address
        self.url = url
        self.writer = Mutex(writer)
        self.reader = Mutex(reader)
    }

    /// Runs raw SQL on the write connection; tests use it to inspect or break the database.
    func executeForTesting(_ sql: String) throws(StoreError) {
        try self.writer.withLock { (connection) throws(StoreError) in
            try connection.execute(sql, operation: "test SQL")
        }
    }

    // MARK: - Writes

    /// Applies the batch in one transaction; on any error nothing of it is written.
    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        guard !writes.isEmpty else { return }
        try self.writer.withLock { (connection) throws(StoreError) in
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

    /// Runs `body` in one transaction on the write connection; returns its count.
    func write(_ body: (PostgreSQLConnection) throws(StoreError) -> Int) throws(StoreError) -> Int {
        try self.writer.withLock { (connection) throws(StoreError) -> Int in
            try connection.transaction { () throws(StoreError) -> Int in try body(connection) }
        }
    }

    private static func perform(_ write: StoreWrite, on db: PostgreSQLConnection) throws(StoreError) {
        if try SQLStateWrites.perform(write, on: db) { return }
        // The writes spelled in this store's own dialect.
        switch write {
        case .recordHeartbeats(let marks):
            try Self.recordHeartbeats(marks, on: db)
        case .appendAudit(let record):
            try db.run(
                """
                WITH next AS (UPDATE legate_counters SET value = value + 1 WHERE name = 'audit' RETURNING value)
                INSERT INTO audit (sequence, at, account_id, actor, action, target, outcome, detail)
                SELECT value, ?::bigint, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text FROM next
                """,
                [
                    .int(record.at), .text(record.accountID), .text(record.actor), .text(record.action),
                    .text(record.target), .text(record.outcome), .text(record.detail),
                ], operation: "append audit")
        default:
            break  // performed above by SQLStateWrites
        }
    }

    /// Heartbeat times in statements of up to 500 delegates each (array parameters), not one round trip per
    /// delegate: the flush is the store's steadiest write. The latest time wins for an id given twice.
    private static func recordHeartbeats(_ marks: [HeartbeatMark], on db: PostgreSQLConnection) throws(StoreError) {
        var start = 0
        while start < marks.count {
            let chunk = marks[start..<min(start + 500, marks.count)]
            try db.run(
                """
                UPDATE delegates SET last_heartbeat_at = v.at FROM (
                SELECT id, max(at) AS at FROM unnest(?::text[], ?::bigint[]) AS marks(id, at) GROUP BY id) v
                WHERE delegates.id = v.id
                """,
                [
                    .text(Self.arrayLiteral(chunk.map(\.delegateID))),
                    .text("{" + chunk.map { String($0.at) }.joined(separator: ",") + "}"),
                ], operation: "record heartbeats")
            start += 500
        }
    }

    /// A PostgreSQL array literal of texts, each quoted and escaped.
    static func arrayLiteral(_ texts: [String]) -> String {
        let quoted = texts.map { text in
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
    }

    // MARK: - Reads

    func read<T>(_ body: (PostgreSQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        // A read changes nothing, so one lost on a connection that went stale (server restarted) is run again.
        do {
            return try self.reader.withLock { (connection) throws(StoreError) -> T in try body(connection) }
        } catch .unavailable {
            return try self.reader.withLock { (connection) throws(StoreError) -> T in try body(connection) }
        }
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

