import Foundation
import LegateCore

// Key rings, sealed ring key copies, secrets and their sealed versions (SQLite schema version 7, PostgreSQL
// version 3), and the device public key column of delegates. Nothing stored here opens a secret.

/// The secret statements of the SQLite and PostgreSQL stores, written once over `SQLDatabase`.
enum SQLSecretTables {
    /// Applies a secret write (inside the caller's transaction).
    static func performWrite<DB: SQLDatabase>(_ write: StoreWrite, on db: DB) throws(StoreError) {
        switch write {
        case .upsertKeyRing(let ring):
            try db.run(
                """
                INSERT INTO key_rings (id, account_id, name, scope, member_rule, ring_version, public_key, created_at,
                created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope,
                member_rule = excluded.member_rule, ring_version = excluded.ring_version,
                public_key = excluded.public_key, updated_at = excluded.updated_at
                """,
                [
                    .text(ring.id), .text(ring.accountID), .text(ring.name), .text(ring.scope.description),
                    .text(try JSONText.encode(ring.memberRule)), .int(Int64(ring.ringVersion)), .blob(ring.publicKey),
                    .int(ring.createdAt), .text(ring.createdBy), .int(ring.updatedAt),
                ], operation: "upsert key ring")
        case .putRingKeyCopies(let copies):
            for copy in copies {
                try db.run(
                    """
                    INSERT INTO ring_key_copies (ring_id, ring_version, delegate_id, device_key_fingerprint,
                    encapsulated_key, ciphertext) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (ring_id, ring_version, delegate_id) DO UPDATE SET
                    device_key_fingerprint = excluded.device_key_fingerprint,
                    encapsulated_key = excluded.encapsulated_key, ciphertext = excluded.ciphertext
                    """,
                    [
                        .text(copy.ringID), .int(Int64(copy.ringVersion)), .text(copy.delegateID),
                        .text(copy.deviceKeyFingerprint), .blob(copy.encapsulatedKey), .blob(copy.ciphertext),
                    ], operation: "store ring key copy")
            }
        case .upsertSecret(let secret):
            try db.run(
                """
                INSERT INTO secrets (id, account_id, name, ring_id, scope, created_at, created_by, updated_at,
                last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, ring_id = excluded.ring_id,
                updated_at = excluded.updated_at, last_used_at = excluded.last_used_at
                """,
                [
                    .text(secret.id), .text(secret.accountID), .text(secret.name), .text(secret.ringID),
                    .text(secret.scope.description), .int(secret.createdAt), .text(secret.createdBy),
                    .int(secret.updatedAt), .int(secret.lastUsedAt),
                ], operation: "upsert secret")
        case .insertSecretVersion(let version):
            let exists = try db.rows("SELECT id FROM secrets WHERE id = ?", [.text(version.secretID)],
                operation: "read secret") { $0.text(0) }
            if exists.isEmpty { throw .constraint(SecretConstraintText.missingSecret(version.secretID)) }
            let clash = try db.rows(
                "SELECT version FROM secret_versions WHERE secret_id = ? AND version = ?",
                [.text(version.secretID), .int(Int64(version.version))], operation: "read secret version"
            ) { $0.int(0) }
            if !clash.isEmpty {
                throw .constraint(SecretConstraintText.duplicateVersion(version.secretID, version.version))
            }
            try db.run(
                """
                INSERT INTO secret_versions (secret_id, version, ring_version, allowed_task_types, envelope,
                created_at) VALUES (?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(version.secretID), .int(Int64(version.version)), .int(Int64(version.ringVersion)),
                    .text(try StringList.encode(version.allowedTaskTypes)), .blob(version.envelope),
                    .int(version.createdAt),
                ], operation: "insert secret version")
        case .replaceSecretVersions(let versions):
            for version in versions {
                let changed = try db.run(
                    "UPDATE secret_versions SET ring_version = ?, envelope = ? WHERE secret_id = ? AND version = ?",
                    [
                        .int(Int64(version.ringVersion)), .blob(version.envelope), .text(version.secretID),
                        .int(Int64(version.version)),
                    ], operation: "re-seal secret version")
                if changed == 0 { throw .constraint(SecretConstraintText.missingSecret(version.secretID)) }
            }
        case .deleteSecret(let id):
            try db.run("DELETE FROM secret_versions WHERE secret_id = ?", [.text(id)], operation: "delete secret")
            let changed = try db.run("DELETE FROM secrets WHERE id = ?", [.text(id)], operation: "delete secret")
            if changed == 0 { throw .constraint(SecretConstraintText.missingSecret(id)) }
        default:
            throw .constraint("not a secret write")
        }
    }

    /// Every key ring, by account and name.
    static func keyRings<DB: SQLDatabase>(_ db: DB) throws(StoreError) -> [KeyRingRecord] {
        try db.rows(
            """
            SELECT id, account_id, name, scope, member_rule, ring_version, public_key, created_at, created_by,
            updated_at FROM key_rings ORDER BY account_id, name
            """, [], operation: "read key rings"
        ) { (row) throws(StoreError) in
            KeyRingRecord(
                id: row.text(0), accountID: row.text(1), name: row.text(2),
                scope: try Self.scope(row.text(3), of: "key ring \(row.text(0))", db: db),
                memberRule: try JSONText.decode(RingMemberRule.self, row.text(4), what: "key_rings.member_rule",
                    path: db.location),
                ringVersion: UInt32(clamping: row.int(5)), publicKey: row.blob(6), createdAt: row.int(7),
                createdBy: row.text(8), updatedAt: row.int(9))
        }
    }

    /// Every sealed ring key copy, by ring, version and delegate.
    static func ringKeyCopies<DB: SQLDatabase>(_ db: DB) throws(StoreError) -> [RingKeyCopyRecord] {
        try db.rows(
            """
            SELECT ring_id, ring_version, delegate_id, device_key_fingerprint, encapsulated_key, ciphertext
            FROM ring_key_copies ORDER BY ring_id, ring_version, delegate_id
            """, [], operation: "read ring key copies"
        ) { row in
            RingKeyCopyRecord(
                ringID: row.text(0), ringVersion: UInt32(clamping: row.int(1)), delegateID: row.text(2),
                deviceKeyFingerprint: row.text(3), encapsulatedKey: row.blob(4), ciphertext: row.blob(5))
        }
    }

    /// Every secret, by account and name.
    static func secrets<DB: SQLDatabase>(_ db: DB) throws(StoreError) -> [SecretRecord] {
        try db.rows(
            """
            SELECT id, account_id, name, ring_id, scope, created_at, created_by, updated_at, last_used_at
            FROM secrets ORDER BY account_id, name
            """, [], operation: "read secrets"
        ) { (row) throws(StoreError) in
            SecretRecord(
                id: row.text(0), accountID: row.text(1), name: row.text(2), ringID: row.text(3),
                scope: try Self.scope(row.text(4), of: "secret \(row.text(0))", db: db), createdAt: row.int(5),
                createdBy: row.text(6), updatedAt: row.int(7), lastUsedAt: row.optionalInt(8))
        }
    }

    /// Every secret version, by secret and version.
    static func secretVersions<DB: SQLDatabase>(_ db: DB) throws(StoreError) -> [SecretVersionRecord] {
        try db.rows(
            """
            SELECT secret_id, version, ring_version, allowed_task_types, envelope, created_at
            FROM secret_versions ORDER BY secret_id, version
            """, [], operation: "read secret versions"
        ) { (row) throws(StoreError) in
            SecretVersionRecord(
                secretID: row.text(0), version: UInt32(clamping: row.int(1)),
                ringVersion: UInt32(clamping: row.int(2)),
                allowedTaskTypes: try StringList.decode(row.text(3), path: db.location), envelope: row.blob(4),
                createdAt: row.int(5))
        }
    }

    private static func scope<DB: SQLDatabase>(_ text: String, of what: String, db: DB) throws(StoreError) -> Scope {
        guard let scope = try? Scope(parsing: text) else {
            throw .corrupt(path: db.location, reason: "\(what) has unknown scope \(text)")
        }
        return scope
    }
}

/// Small Codable values stored as JSON text.
enum JSONText {
    static func encode<T: Encodable>(_ value: T) throws(StoreError) -> String {
        guard let data = try? JSONEncoder().encode(value), let text = String(data: data, encoding: .utf8) else {
            throw .constraint("cannot encode \(T.self) as JSON")
        }
        return text
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, what: String, path: String)
        throws(StoreError) -> T
    {
        guard let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else {
            throw .corrupt(path: path, reason: "a \(what) column is not valid JSON")
        }
        return value
    }
}

/// The secrets a task uses, stored as a JSON array; "" (the common case) for none.
enum TaskSecretList {
    static func encode(_ uses: [TaskSecretUse]) throws(StoreError) -> String {
        uses.isEmpty ? "" : try JSONText.encode(uses)
    }

    static func decode(_ text: String, path: String) throws(StoreError) -> [TaskSecretUse] {
        text.isEmpty ? [] : try JSONText.decode([TaskSecretUse].self, text, what: "tasks.secrets", path: path)
    }
}
