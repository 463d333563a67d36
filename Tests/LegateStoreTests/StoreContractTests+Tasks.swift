import LegateCore
import Testing

@testable import LegateStore

/// The store contract for task tables.
extension StoreContractTests {
    static func task(_ id: String, key: String? = nil, at: Int64 = Fixture.t0) -> TaskRecord {
        TaskRecord(
            id: id, accountID: "acc-1", type: "shell", payload: [0, 1, 2, 255], selectors: ["linux", "x86"],
            targetDelegateID: id == "t2" ? "del-1" : nil, timeoutMs: 60_000, idempotencyKey: key, maxAttempts: 3,
            submittedBy: "admin:k", createdAt: at)
    }

    @Test(arguments: StoreFactory.all)
    func insertUpdateAndReadBack(kind: StoreFactory) throws {
        try kind.withStore { store in
            let first = Self.task("t1", key: "deploy-42")
            let second = Self.task("t2", at: Fixture.t0 + 1)
            try store.apply([.insertAccount(Fixture.account()), .insertTask(first), .insertTask(second)])
            #expect(try store.task(id: "t1") == first)
            #expect(try store.task(accountID: "acc-1", idempotencyKey: "deploy-42") == first)
            #expect(try store.task(accountID: "acc-2", idempotencyKey: "deploy-42") == nil)
            #expect(try store.tasks(accountID: "acc-1", status: nil, within: .account, limit: 10).map(\.id) == ["t2", "t1"])
            #expect(try store.tasks(accountID: "acc-1", status: nil, within: .account, limit: 1).map(\.id) == ["t2"])

            var done = second
            done.status = .succeeded
            done.attempt = 2
            done.delegateID = "del-1"
            done.lostAttempts = 1
            done.finishedAt = Fixture.t0 + 9
            done.updatedAt = Fixture.t0 + 9
            done.output = Array("hello".utf8)
            done.exitCode = -3
            done.cancelRequested = true
            done.message = "m"
            done.error = "e"
            done.progressPercent = 100
            try store.apply([.updateTask(done)])
            #expect(try store.task(id: "t2") == done)
            #expect(try store.unfinishedTasks().map(\.id) == ["t1"])
            #expect(try store.tasks(accountID: "acc-1", status: .succeeded, within: .account, limit: 10) == [done])

            try store.apply([
                .appendTaskLog(TaskLogRecord(taskID: "t1", attempt: 1, at: 1, data: Array("a".utf8))),
                .appendTaskLog(TaskLogRecord(taskID: "t2", attempt: 1, at: 2, data: Array("x".utf8))),
                .appendTaskLog(TaskLogRecord(taskID: "t1", attempt: 2, at: 3, data: Array("b".utf8))),
            ])
            #expect(try store.taskLogs(taskID: "t1").map(\.data) == [Array("a".utf8), Array("b".utf8)])
            #expect(try store.taskLogs(taskID: "t1").map(\.attempt) == [1, 2])
        }
    }

    @Test(arguments: StoreFactory.all)
    func constraintsRefuseTheWholeBatch(kind: StoreFactory) throws {
        try kind.withStore { store in
            try store.apply([.insertAccount(Fixture.account()), .insertTask(Self.task("t1", key: "k"))])
            #expect(throws: StoreError.constraint(TaskConstraintText.duplicateKey("k"))) {
                try store.apply([.insertTask(Self.task("t9")), .insertTask(Self.task("t2", key: "k"))])
            }
            #expect(try store.task(id: "t9") == nil)  // nothing of the failed batch was written
            #expect(throws: StoreError.constraint(TaskConstraintText.missingTask("ghost"))) {
                try store.apply([.updateTask(Self.task("ghost"))])
            }
            var orphan = Self.task("t3")
            orphan.accountID = "no-such-account"
            #expect(throws: StoreError.self) { try store.apply([.insertTask(orphan)]) }
        }
    }

    @Test(arguments: StoreFactory.all)
    func listingsStayWithinAScope(kind: StoreFactory) throws {
        try kind.withStore { store in
            var web = Self.task("web")
            web.scope = try Scope(parsing: "project/acme/web")
            var org = Self.task("org", at: Fixture.t0 + 1)
            org.scope = try Scope(parsing: "org/acme")
            var other = Self.task("other", at: Fixture.t0 + 2)
            other.scope = try Scope(parsing: "org/acme-2")
            let wide = Self.task("wide", at: Fixture.t0 + 3)
            try store.apply([.insertAccount(Fixture.account()), .insertTask(web), .insertTask(org), .insertTask(other),
                             .insertTask(wide)])
            func ids(_ scope: String) throws -> [String] {
                try store.tasks(accountID: "acc-1", status: nil, within: try Scope(parsing: scope), limit: 10).map(\.id)
            }
            #expect(try ids("account") == ["wide", "other", "org", "web"])
            #expect(try ids("org/acme") == ["org", "web"])  // not org/acme-2, which shares the prefix
            #expect(try ids("project/acme/web") == ["web"])
            #expect(try store.task(id: "web")?.scope == web.scope)
        }
    }

}

/// The SQLite store keeps tasks across a reopen.
@Suite struct SQLiteTaskReopenTests {
    @Test func sqliteKeepsTasksAcrossAReopen() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        var running = StoreContractTests.task("t1")
        do {
            let store = try SQLiteStateStore(path: path)
            try store.apply([.insertAccount(Fixture.account()), .insertTask(running)])
            running.status = .running
            running.attempt = 1
            running.delegateID = "del-1"
            try store.apply([.updateTask(running)])
        }
        let reopened = try SQLiteStateStore(path: path)
        #expect(try reopened.unfinishedTasks() == [running])
    }
}
