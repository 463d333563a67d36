import Foundation
public import LegateCore

// MARK: - Profiles

extension PostgreSQLStateStore {
    static func performProfileWrite(_ write: StoreWrite, on db: PostgreSQLConnection) throws(StoreError) {
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

    /// Profiles of one account, by name.
    public func profiles(accountID: String) throws(StoreError) -> [ProfileRecord] {
        try self.read { (db) throws(StoreError) in
            try Self.profiles(db, where: "WHERE account_id = ?", [.text(accountID)])
        }
    }

    /// Every profile, by account and name.
    public func allProfiles() throws(StoreError) -> [ProfileRecord] {
        try self.read { (db) throws(StoreError) in try Self.profiles(db, where: "", []) }
    }

    private static func profiles(_ db: PostgreSQLConnection, where filter: String, _ values: [SQLValue])
        throws(StoreError) -> [ProfileRecord]
    {
        try db.query(
            """
            SELECT id, account_id, name, requires_approval, startup_script, auto_approval, created_at, updated_at
            FROM profiles \(filter) ORDER BY account_id, name
            """, values, operation: "read profiles"
        ) { (row) throws(StoreError) in
            ProfileRecord(
                id: row.text(0), accountID: row.text(1), name: row.text(2), requiresApproval: row.int(3) != 0,
                startupScript: row.text(4), autoApproval: try RuleList.decode(row.text(5), path: db.address),
                createdAt: row.int(6), updatedAt: row.int(7))
        }
    }
}
