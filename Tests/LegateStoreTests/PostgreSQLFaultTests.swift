import LegateCore
import LegateTestSupport
import Testing

@testable import LegateStore

/// What the PostgreSQL store does when the server goes away, is not there, or refuses a write.
@Suite struct PostgreSQLFaultTests {
    @Test func serverStoppedMidRunFailsApplyRetryablyAndRecoversAfterRestart() throws {
        // A cluster of its own: stopping the shared one would break the tests running beside this one.
        let cluster = try PostgreSQLTestCluster()
        defer { try? cluster.stop() }
        let store = try PostgreSQLStateStore(url: try cluster.newStoreURL())
        try store.apply([.insertAccount(Fixture.account()), .appendAudit(Fixture.audit("before"))])

        try cluster.stop()
        let error = #expect(throws: StoreError.self) {
            try store.apply([.insertToken(Fixture.token("tok-1")), .appendAudit(Fixture.audit("lost"))])
        }
        guard case .unavailable(let server, _) = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
            return
        }
        #expect(error?.isTransient == true)
        #expect(server == store.address)
        #expect(error?.description.contains("nothing was written") == true)
        #expect(throws: StoreError.self) { try store.accounts() }

        try cluster.start()
        // Both connections went stale with the restart; the next calls reconnect by themselves.
        try store.apply([.insertToken(Fixture.token("tok-1")), .appendAudit(Fixture.audit("after"))])
        #expect(try store.accounts() == [Fixture.account()])
        #expect(try store.allTokens() == [Fixture.token("tok-1")])
        #expect(try store.auditRecords(accountID: nil, limit: 10).map(\.action) == ["after", "before"])
        #expect(try store.auditRecords(accountID: nil, limit: 10).map(\.sequence) == [2, 1])
    }

    @Test func badAddressAtStartNamesTheServerWithoutItsPassword() {
        let error = #expect(throws: StoreError.self) {
            _ = try PostgreSQLStateStore(url: "postgresql://legate:hunter2@127.0.0.1:1/legate?connect_timeout=5")
        }
        guard case .unavailable(let server, let reason) = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
            return
        }
        #expect(server == "postgresql://legate@127.0.0.1:1/legate?connect_timeout=5")
        #expect(!reason.isEmpty)
        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains("127.0.0.1:1") == true)
    }

    @Test func constraintViolationsAreMappedLikeSQLite() throws {
        let directory = try TemporaryDirectory()
        let stores: [any StateStore] = [
            try SQLiteStateStore(path: directory.file("state.db")),
            try PostgreSQLStateStore(url: try PostgreSQLTestCluster.shared().newStoreURL()),
        ]
        for store in stores {
            try store.apply([.insertAccount(Fixture.account())])
            let broken: [StoreWrite] = [
                .insertAccount(Fixture.account()),  // duplicate primary key
                .insertToken(Fixture.token("tok-1", account: "acc-9")),  // missing account
                .insertTask(
                    TaskRecord(
                        id: "task-1", accountID: "acc-9", type: "shell", payload: [1], selectors: [],
                        targetDelegateID: nil, timeoutMs: 1000, idempotencyKey: nil, maxAttempts: 1,
                        submittedBy: "admin:key-1", createdAt: Fixture.t0)),
            ]
            for write in broken {
                let error = #expect(throws: StoreError.self) { try store.apply([write]) }
                guard case .constraint = error else {
                    Issue.record(
                        "\(type(of: store)): expected .constraint for \(write), got \(String(describing: error))"
                    )
                    continue
                }
                #expect(error?.isTransient == false)
            }
        }
    }

    @Test func aSchemaFromANewerBuildIsRefused() throws {
        let url = try PostgreSQLTestCluster.shared().newStoreURL()
        let store = try PostgreSQLStateStore(url: url)
        #expect(store.schemaVersion == PostgreSQLMigration.latestVersion)
        try store.executeForTesting("UPDATE legate_schema_version SET version = 99")
        #expect(throws: StoreError.schemaTooNew(found: 99, supported: PostgreSQLMigration.latestVersion)) {
            _ = try PostgreSQLStateStore(url: url)
        }
        // Opening again at the same version changes nothing.
        try store.executeForTesting("UPDATE legate_schema_version SET version = \(PostgreSQLMigration.latestVersion)")
        try store.apply([.insertAccount(Fixture.account())])
        #expect(try PostgreSQLStateStore(url: url).accounts() == [Fixture.account()])
    }

    @Test func commitsWaitForTheDiskEvenWhenTheServerDefaultDoesNot() throws {
        // The URL's options end with the search_path setting; the server default is turned off after it.
        let url = try PostgreSQLTestCluster.shared().newStoreURL() + "%20-csynchronous_commit%3Doff"
        let connection = try PostgreSQLConnection(connectionString: url, address: "test")
        let setting = try connection.query("SHOW synchronous_commit", [], operation: "test") { $0.text(0) }
        #expect(setting == ["on"])
    }

    @Test func addressesAreShownWithoutPasswords() {
        #expect(
            PostgreSQLAddress.redacted("postgresql://u:p%40ss@db.example:5432/legate")
                == "postgresql://u@db.example:5432/legate")
        #expect(
            PostgreSQLAddress.redacted("postgres://u@h/db?password=x&sslmode=require")
                == "postgres://u@h/db?sslmode=require")
        #expect(PostgreSQLAddress.redacted("postgresql:///db?host=/tmp/x") == "postgresql:///db?host=/tmp/x")
        #expect(PostgreSQLAddress.redacted("host=h password=secret dbname=d") == "host=h dbname=d")
    }
}
