import LegateCore

// The writes both SQL stores spell the same way, written once over `SQLDatabase`.

/// Applies the store writes whose SQL is the same in SQLite and PostgreSQL; a store spells the rest itself.
enum SQLStateWrites {
    /// Performs `write` (inside the caller's transaction) when its SQL is shared; false for the writes the store
    /// spells in its own dialect (the heartbeat flush and the audit append).
    static func perform<DB: SQLDatabase>(_ write: StoreWrite, on db: DB) throws(StoreError) -> Bool {
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
            let status = try db.rows("SELECT status FROM tokens WHERE id = ?", [.text(id)], operation: "read token") {
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
        case .setMetadata(let key, let value):
            try db.run(
                "INSERT INTO metadata (key, value) VALUES (?, ?) "
                    + "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [.text(key), .text(value)], operation: "set metadata")
        case .insertTask, .updateTask, .appendTaskLog:
            try SQLTaskTables.performWrite(write, on: db)
        case .insertNodeControl(let control):
            try SQLNodeTables.insertControl(control, on: db)
        case .upsertProfile, .deleteProfile:
            try SQLProfileTables.performWrite(write, on: db)
        case .upsertKeyRing, .putRingKeyCopies, .upsertSecret, .insertSecretVersion, .deleteSecret,
            .replaceSecretVersions:
            try SQLSecretTables.performWrite(write, on: db)
        case .recordHeartbeats, .appendAudit:
            return false
        }
        return true
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
}
