import LegateCore

/// The reads of accounts, tokens, delegates, admin keys and audit rows, written once for the SQLite and PostgreSQL
/// stores over `SQLDatabase`.
enum SQLStateReads {
    /// Audit rows passing `filter`, newest first, at most `limit`; all accounts when `accountID` is nil.
    static func auditRecords<DB: SQLDatabase>(
        _ db: DB, accountID: String?, filter: AuditFilter, limit: Int
    ) throws(StoreError) -> [AuditRecord] {
        guard limit > 0 else { return [] }
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let accountID { (conditions, values) = (["account_id = ?"], [.text(accountID)]) }
        if let prefix = filter.actionPrefix {
            // substr, not LIKE: an action holding % or _ must not act as a pattern.
            conditions.append("substr(action, 1, \(DB.integerParameter)) = ?")
            values += [.int(Int64(prefix.unicodeScalars.count)), .text(prefix)]
        } else if let action = filter.action {
            conditions.append("action = ?")
            values.append(.text(action))
        }
        if let actor = filter.actor {
            conditions.append("actor = ?")
            values.append(.text(actor))
        }
        if let since = filter.since {
            conditions.append("at >= \(DB.bigintParameter)")
            values.append(.int(since))
        }
        if let until = filter.until {
            conditions.append("at < \(DB.bigintParameter)")
            values.append(.int(until))
        }
        let clause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try db.rows(
            "SELECT sequence, at, account_id, actor, action, target, outcome, detail FROM audit \(clause) "
                + "ORDER BY sequence DESC LIMIT ?", values + [.int(Int64(limit))], operation: "read audit"
        ) { row in
            AuditRecord(
                sequence: row.int(0), at: row.int(1), accountID: row.text(2), actor: row.text(3),
                action: row.text(4), target: row.text(5), outcome: row.text(6), detail: row.text(7))
        }
    }

    /// The admin keys matching `filter` (a WHERE clause with bound `values`).
    static func adminKeys<DB: SQLDatabase>(_ db: DB, where filter: String, _ values: [SQLValue])
        throws(StoreError) -> [AdminKeyRecord]
    {
        try db.rows(
            """
            SELECT id, account_id, name, scope, secret_hash, permissions, created_at, created_by, revoked_at,
            expires_at FROM admin_keys \(filter) ORDER BY created_at, id
            """, values, operation: "read admin keys"
        ) { (row) throws(StoreError) in
            AdminKeyRecord(
                id: row.text(0), accountID: row.text(1), name: row.text(2), scope: row.text(3),
                secretHash: row.blob(4), permissions: try StringList.decode(row.text(5), path: db.location),
                createdAt: row.int(6), createdBy: row.text(7), revokedAt: row.optionalInt(8),
                expiresAt: row.optionalInt(9))
        }
    }

    /// The accounts matching `filter` (a WHERE clause with bound `values`).
    static func accounts<DB: SQLDatabase>(_ db: DB, where filter: String, _ values: [SQLValue])
        throws(StoreError) -> [AccountRecord]
    {
        try db.rows(
            "SELECT id, name, created_at FROM accounts \(filter) ORDER BY created_at, id", values,
            operation: "read accounts"
        ) { AccountRecord(id: $0.text(0), name: $0.text(1), createdAt: $0.int(2)) }
    }

    /// The tokens matching `filter` (a WHERE clause with bound `values`).
    static func tokens<DB: SQLDatabase>(_ db: DB, where filter: String, _ values: [SQLValue])
        throws(StoreError) -> [TokenRecord]
    {
        try db.rows(
            """
            SELECT id, account_id, name, scope, sealed_value, status, created_at, created_by, revoked_at, expires_at,
            last_used_at FROM tokens \(filter) ORDER BY created_at, id
            """, values, operation: "read tokens"
        ) { (row) throws(StoreError) in
            guard let status = TokenStatus(rawValue: row.text(5)) else {
                throw .corrupt(path: db.location, reason: "token \(row.text(0)) has unknown status \(row.text(5))")
            }
            return TokenRecord(
                id: row.text(0), accountID: row.text(1), name: row.text(2), scope: row.text(3),
                sealedValue: row.blob(4), status: status, createdAt: row.int(6), createdBy: row.text(7),
                revokedAt: row.optionalInt(8), expiresAt: row.optionalInt(9), lastUsedAt: row.optionalInt(10))
        }
    }

    /// The delegates matching `filter` (a WHERE clause with bound `values`).
    static func delegates<DB: SQLDatabase>(_ db: DB, where filter: String, _ values: [SQLValue])
        throws(StoreError) -> [DelegateRecord]
    {
        try db.rows(
            """
            SELECT id, account_id, instance_id, name, hostname, ip_address, version, tags, task_types, profile,
            token_id, status, first_seen_at, connected_since, last_heartbeat_at, disconnected_at, decision_reason,
            pending_expires_at, device_public_key, node_id FROM delegates \(filter) ORDER BY first_seen_at, id
            """, values, operation: "read delegates"
        ) { (row) throws(StoreError) in
            guard let status = DelegateStatus(rawValue: row.text(11)) else {
                throw .corrupt(path: db.location, reason: "delegate \(row.text(0)) has unknown status \(row.text(11))")
            }
            var delegate = DelegateRecord(
                id: row.text(0), accountID: row.text(1), instanceID: row.text(2), name: row.text(3),
                hostname: row.text(4), ipAddress: row.text(5), version: row.text(6),
                tags: try StringList.decode(row.text(7), path: db.location),
                taskTypes: try StringList.decode(row.text(8), path: db.location), profile: row.text(9),
                tokenID: row.text(10), status: status, firstSeenAt: row.int(12), connectedSince: row.optionalInt(13),
                lastHeartbeatAt: row.optionalInt(14), disconnectedAt: row.optionalInt(15),
                decisionReason: row.optionalText(16), pendingExpiresAt: row.optionalInt(17),
                nodeID: row.optionalText(19))
            delegate.devicePublicKey = row.blob(18)
            return delegate
        }
    }
}
