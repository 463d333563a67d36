import LegateCore
import Testing

@testable import LegateStore

/// Migration 8: the task status check no longer builds a temporary index per statement, still refuses unknown
/// states, and keeps every task of a version-6 database.
@Suite struct TaskStatusCheckTests {
    static let insert = """
        INSERT INTO tasks (id, account_id, type, payload, selectors, target_delegate_id, timeout_ms, idempotency_key,
        max_attempts, submitted_by, created_at, scope, status, attempt, delegate_id, lost_attempts, updated_at,
        finished_at, progress_percent, message, output, error, exit_code, cancel_requested) VALUES
        ('tsk-1', 'acc-1', 'echo', x'01', '[]', NULL, 1000, 'key-1', 3, 'admin:k', 5, 'account', 'running', 2,
        'del-1', 1, 6, NULL, 40, 'half', x'', '', 0, 0)
        """

    /// Opcodes SQLite compiles `sql` to.
    static func opcodes(_ sql: String, on connection: SQLiteConnection) throws -> [String] {
        try connection.query("EXPLAIN " + sql, [], operation: "explain") { $0.text(1) }
    }

    @Test func theTaskWritesBuildNoTemporaryIndex() throws {
        let directory = try TemporaryDirectory()
        _ = try SQLiteStateStore(path: directory.file("s.db"))
        let connection = try SQLiteConnection(path: directory.file("s.db"))
        let update = "UPDATE tasks SET status = ?, finished_at = ? WHERE id = ?"
        #expect(!(try Self.opcodes(update, on: connection)).contains("OpenEphemeral"))
        #expect(!(try Self.opcodes(Self.insert, on: connection)).contains("OpenEphemeral"))
    }

    @Test func anUnknownStatusIsStillRefused() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStateStore(path: directory.file("s.db"))
        try store.apply([.insertAccount(Fixture.account())])
        try store.executeForTesting(Self.insert)
        #expect(throws: StoreError.self) {
            try store.executeForTesting("UPDATE tasks SET status = 'lost' WHERE id = 'tsk-1'")
        }
        #expect(try store.task(id: "tsk-1")?.status == .running)
    }

    @Test func migrationSevenKeepsTheTasksOfAVersionSixDatabase() throws {
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
            try connection.execute(Self.insert, operation: "seed")
            #expect(try Self.opcodes(Self.insert, on: connection).contains("OpenEphemeral"))
        }
        let store = try SQLiteStateStore(path: path)
        #expect(store.schemaVersion == Migration.latestVersion)
        let task = try #require(try store.task(id: "tsk-1"))
        #expect(task.status == .running && task.attempt == 2 && task.delegateID == "del-1" && task.lostAttempts == 1)
        #expect(task.payload == [1] && task.timeoutMs == 1000 && task.maxAttempts == 3 && task.message == "half")
        #expect(task.progressPercent == 40 && task.createdAt == 5 && task.updatedAt == 6 && task.finishedAt == nil)
        #expect(try store.task(accountID: "acc-1", idempotencyKey: "key-1")?.id == "tsk-1")
        #expect(try store.unfinishedTasks().map(\.id) == ["tsk-1"])
        var finished = task
        finished.status = .succeeded
        finished.finishedAt = 9
        try store.apply([.updateTask(finished)])
        #expect(try store.unfinishedTasks().isEmpty)
        #expect(try store.task(id: "tsk-1")?.status == .succeeded)
    }
}
