import Foundation
import LegateCore

// Profiles (SQLite schema version 3, PostgreSQL version 1).

/// The profile statements of the SQLite and PostgreSQL stores, written once over `SQLDatabase`.
enum SQLProfileTables {
    /// Applies a profile write (inside the caller's transaction).
    static func performWrite<DB: SQLDatabase>(_ write: StoreWrite, on db: DB) throws(StoreError) {
        switch write {
        case .upsertProfile(let profile):
            try db.run(
                """
                INSERT INTO profiles (id, account_id, name, requires_approval, startup_script, auto_approval,
                created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, requires_approval = excluded.requires_approval,
                startup_script = excluded.startup_script, auto_approval = excluded.auto_approval,
                updated_at = excluded.updated_at
                """,
                [
                    .text(profile.id), .text(profile.accountID), .text(profile.name),
                    .int(profile.requiresApproval ? 1 : 0), .text(profile.startupScript),
                    .text(try RuleList.encode(profile.autoApproval)), .int(profile.createdAt), .int(profile.updatedAt),
                ], operation: "upsert profile")
        case .deleteProfile(let id):
            let changed = try db.run("DELETE FROM profiles WHERE id = ?", [.text(id)], operation: "delete profile")
            if changed == 0 { throw .constraint(ConstraintText.missingProfile(id)) }
        default:
            throw .constraint("not a profile write")
        }
    }

    /// Profiles matching `filter` (a WHERE clause with bound `values`), by account and name.
    static func profiles<DB: SQLDatabase>(_ db: DB, where filter: String, _ values: [SQLValue])
        throws(StoreError) -> [ProfileRecord]
    {
        try db.rows(
            """
            SELECT id, account_id, name, requires_approval, startup_script, auto_approval, created_at, updated_at
            FROM profiles \(filter) ORDER BY account_id, name
            """, values, operation: "read profiles"
        ) { (row) throws(StoreError) in
            ProfileRecord(
                id: row.text(0), accountID: row.text(1), name: row.text(2), requiresApproval: row.int(3) != 0,
                startupScript: row.text(4), autoApproval: try RuleList.decode(row.text(5), path: db.location),
                createdAt: row.int(6), updatedAt: row.int(7))
        }
    }
}

/// Auto-approval rules are stored as a JSON array.
enum RuleList {
    static func encode(_ rules: [ApprovalRule]) throws(StoreError) -> String {
        guard let data = try? JSONEncoder().encode(rules), let text = String(data: data, encoding: .utf8) else {
            throw .constraint("cannot encode \(rules.count) auto-approval rules as JSON")
        }
        return text
    }

    static func decode(_ text: String, path: String) throws(StoreError) -> [ApprovalRule] {
        guard let rules = try? JSONDecoder().decode([ApprovalRule].self, from: Data(text.utf8)) else {
            throw .corrupt(path: path, reason: "a profiles.auto_approval column is not a JSON rule array")
        }
        return rules
    }
}
