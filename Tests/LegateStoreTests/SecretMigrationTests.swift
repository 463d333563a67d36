import LegateCore
import Testing

@testable import LegateStore

/// Migration 7 (SQLite) brings device keys, key rings, secrets and task secret uses to a version-6 database and
/// keeps its delegates and tasks: they read back with no device key and no secrets.
@Suite struct SecretMigrationTests {
    @Test func migrationSevenUpgradesAVersionSixDatabase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v6.db")
        do {
            let connection = try SQLiteConnection(path: path)
            for migration in Migration.all where migration.version <= 6 {
                try connection.execute(migration.sql, operation: "old schema")
            }
            try connection.execute("PRAGMA user_version = 6", operation: "old version")
            try connection.execute(
                "INSERT INTO accounts (id, name, created_at) VALUES ('acc-1', 'a', 1)", operation: "seed")
            try connection.execute(
                """
                INSERT INTO delegates (id, account_id, instance_id, name, hostname, ip_address, version, tags,
                task_types, profile, token_id, status, first_seen_at) VALUES ('del-1', 'acc-1', 'i', 'n', 'h',
                '1.2.3.4', 'v', '[]', '[]', 'p', 'tok', 'active', 1)
                """, operation: "seed")
            try connection.execute(
                """
                INSERT INTO tasks (id, account_id, type, payload, selectors, timeout_ms, max_attempts, submitted_by,
                created_at, scope, status, attempt, lost_attempts, updated_at, progress_percent, message, output,
                error, exit_code, cancel_requested) VALUES ('t1', 'acc-1', 'echo', x'00', '[]', 1000, 3, 'admin:k',
                1, 'account', 'queued', 0, 0, 1, 0, '', x'', '', 0, 0)
                """, operation: "seed")
        }
        let store = try SQLiteStateStore(path: path)
        #expect(store.schemaVersion == Migration.latestVersion)
        #expect(try store.delegate(id: "del-1")?.devicePublicKey == [])
        #expect(try store.task(id: "t1")?.secrets == [])
        #expect(try store.allKeyRings().isEmpty && store.allSecrets().isEmpty)
        var keyed = try #require(try store.delegate(id: "del-1"))
        keyed.devicePublicKey = Array(repeating: 1, count: 32)
        try store.apply([.upsertDelegate(keyed)])
        #expect(try store.delegate(id: "del-1")?.devicePublicKey.count == 32)
    }
}
