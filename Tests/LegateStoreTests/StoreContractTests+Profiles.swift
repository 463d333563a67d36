import Foundation
import LegateCore
import Testing

@testable import LegateStore

/// The store contract for profiles and the approval fields of delegates.
extension StoreContractTests {
    static func profile(_ id: String, name: String, account: String = "acc-1") -> ProfileRecord {
        ProfileRecord(
            id: id, accountID: account, name: name, requiresApproval: true, startupScript: "echo hi\n",
            autoApproval: [
                ApprovalRule(sourceCIDRs: ["10.0.0.0/8", "fd00::/8"], hostnamePattern: "ci-*"),
                ApprovalRule(tokenID: "tok-1"),
            ], createdAt: Fixture.t0, updatedAt: Fixture.t0 + 5)
    }

    @Test(arguments: StoreFactory.all)
    func profilesRoundTripAndKeepTheirConstraints(kind: StoreFactory) throws {
        try kind.withStore { store in
            let linux = Self.profile("prf-1", name: "linux")
            let bare = ProfileRecord(id: "prf-2", accountID: "acc-1", name: "default", createdAt: 1, updatedAt: 1)
            try store.apply([.insertAccount(Fixture.account()), .upsertProfile(linux), .upsertProfile(bare)])
            #expect(try store.profiles(accountID: "acc-1") == [bare, linux])
            #expect(try store.allProfiles() == [bare, linux])
            #expect(try store.profiles(accountID: "acc-2") == [])

            var changed = linux
            changed.requiresApproval = false
            changed.autoApproval = []
            changed.updatedAt += 1
            try store.apply([.upsertProfile(changed)])
            #expect(try store.profiles(accountID: "acc-1") == [bare, changed])

            let clash = ProfileRecord(id: "prf-3", accountID: "acc-1", name: "linux", createdAt: 2, updatedAt: 2)
            #expect(throws: StoreError.self) { try store.apply([.upsertProfile(clash)]) }
            let orphan = ProfileRecord(id: "prf-4", accountID: "acc-9", name: "x", createdAt: 2, updatedAt: 2)
            #expect(throws: StoreError.self) { try store.apply([.upsertProfile(orphan)]) }
            #expect(throws: StoreError.self) { try store.apply([.deleteProfile(id: "prf-9")]) }
            try store.apply([.deleteProfile(id: "prf-1")])
            #expect(try store.allProfiles() == [bare])
        }
    }

    @Test(arguments: StoreFactory.all)
    func delegateDecisionFieldsRoundTrip(kind: StoreFactory) throws {
        try kind.withStore { store in
            var pending = Fixture.delegate("del-1")
            pending.status = .pending
            pending.pendingExpiresAt = Fixture.t0 + 86_400_000
            var rejected = Fixture.delegate("del-2", at: 1)
            rejected.status = .rejected
            rejected.decisionReason = "unknown host; ask ops"
            try store.apply([.insertAccount(Fixture.account()), .upsertDelegate(pending), .upsertDelegate(rejected)])
            #expect(try store.delegate(id: "del-1") == pending)
            #expect(try store.delegate(id: "del-2") == rejected)
        }
    }

}

/// Migration 3 over a version-2 SQLite database.
@Suite struct ProfileMigrationTests {
    @Test func migrationThreeUpgradesAVersionTwoDatabase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("old.db")
        do {
            let connection = try SQLiteConnection(path: path)
            for migration in Migration.all where migration.version <= 2 {
                try connection.execute(migration.sql, operation: "old schema")
            }
            try connection.execute("PRAGMA user_version = 2", operation: "old version")
            try connection.execute(
                "INSERT INTO accounts (id, name, created_at) VALUES ('acc-1', 'a', 1)", operation: "seed")
            try connection.execute(
                """
                INSERT INTO delegates (id, account_id, instance_id, name, hostname, ip_address, version, tags,
                task_types, profile, token_id, status, first_seen_at) VALUES ('del-1', 'acc-1', 'i', 'n', 'h',
                '1.2.3.4', 'v', '[]', '[]', '', 'tok', 'active', 1)
                """, operation: "seed")
        }
        let store = try SQLiteStateStore(path: path)
        #expect(store.schemaVersion >= 3)
        let old = try #require(try store.delegate(id: "del-1"))
        #expect(old.decisionReason == nil && old.pendingExpiresAt == nil && old.status == .active)
        #expect(try store.allProfiles() == [])
    }
}
