import LegateCore
import Testing

@testable import LegateStore

/// The destroyed delegate state: stored by both backends, and migration 6 keeps every delegate of a version-4
/// database while allowing it.
@Suite struct DestroyedStatusTests {
    @Test(arguments: StoreFactory.all)
    func destroyedRoundTrips(kind: StoreFactory) throws {
        try kind.withStore { (store) throws in
            var record = Fixture.delegate("del-1")
            record.status = .destroyed
            try store.apply([.insertAccount(Fixture.account()), .upsertDelegate(record)])
            #expect(try store.delegate(id: "del-1")?.status == .destroyed)
        }
    }

    @Test func migrationFiveKeepsTheDelegatesOfAVersionFourDatabase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v4.db")
        do {
            let connection = try SQLiteConnection(path: path)
            for migration in Migration.all where migration.version <= 4 {
                try connection.execute(migration.sql, operation: "old schema")
            }
            try connection.execute("PRAGMA user_version = 4", operation: "old version")
            try connection.execute(
                "INSERT INTO accounts (id, name, created_at) VALUES ('acc-1', 'a', 1)", operation: "seed")
            try connection.execute(
                """
                INSERT INTO delegates (id, account_id, instance_id, name, hostname, ip_address, version, tags,
                task_types, profile, token_id, status, first_seen_at, disconnected_at, decision_reason,
                pending_expires_at) VALUES ('del-1', 'acc-1', 'i', 'n', 'h', '1.2.3.4', 'v', '[]', '[]', 'p', 'tok',
                'rejected', 1, 7, 'why', 9)
                """, operation: "seed")
            // The old constraint refuses the new state.
            #expect(throws: StoreError.self) {
                try connection.execute("UPDATE delegates SET status = 'destroyed'", operation: "old check")
            }
        }
        let store = try SQLiteStateStore(path: path)
        #expect(store.schemaVersion == Migration.latestVersion)
        let old = try #require(try store.delegate(id: "del-1"))
        #expect(old.status == .rejected && old.decisionReason == "why" && old.pendingExpiresAt == 9)
        #expect(old.disconnectedAt == 7 && old.profile == "p" && old.instanceID == "i")
        var destroyed = old
        destroyed.status = .destroyed
        try store.apply([.upsertDelegate(destroyed)])
        #expect(try store.delegate(id: "del-1")?.status == .destroyed)
        #expect(try store.delegate(accountID: "acc-1", instanceID: "i")?.id == "del-1")
    }
}
