import Foundation
import LegateCore
import Testing

@testable import LegateStore

/// File-level behaviour of SQLiteStateStore: reopen, migrations, disk full, crash images.
@Suite struct SQLiteDurabilityTests {
    /// Batch `index` of the crash scenario: one account with its token and audit row.
    static func batch(_ index: Int) -> [StoreWrite] {
        let account = "acc-\(index)"
        return [
            .insertAccount(Fixture.account(account, at: Int64(index))),
            .insertToken(Fixture.token("tok-\(index)", account: account, at: Int64(index))),
            .appendAudit(Fixture.audit("token.create", account: account, at: Int64(index))),
        ]
    }

    @Test func reopenFindsEverything() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        var written: Snapshot?
        do {
            let store = try SQLiteStateStore(path: path)
            for index in 0..<5 { try store.apply(Self.batch(index)) }
            try store.apply([
                .upsertDelegate(Fixture.delegate("del-1", account: "acc-0", token: "tok-0")),
                .setMetadata(key: "k", value: "v"),
            ])
            written = try Snapshot(store)
        }
        let reopened = try SQLiteStateStore(path: path)
        #expect(try Snapshot(reopened) == written)
        #expect(try reopened.accounts().count == 5)
        // Audit sequences continue after a reopen.
        try reopened.apply([.appendAudit(Fixture.audit("later"))])
        #expect(try reopened.auditRecords(accountID: nil, limit: 1).first?.sequence == 6)
    }

    @Test func migratesFromEmptyAndRefusesNewerSchema() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        do {
            let store = try SQLiteStateStore(path: path)
            #expect(store.schemaVersion == Migration.latestVersion)
            #expect(Migration.all.map(\.version) == Array(1...Migration.latestVersion))
            try store.executeForTesting("PRAGMA user_version = \(Migration.latestVersion + 7)")
        }
        #expect(throws: StoreError.schemaTooNew(found: Migration.latestVersion + 7, supported: Migration.latestVersion))
        {
            _ = try SQLiteStateStore(path: path)
        }
        let message = StoreError.schemaTooNew(found: 9, supported: 1).description
        #expect(message.contains("newer than this build supports"))
    }

    @Test func reopeningAMigratedFileKeepsItsVersion() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        _ = try SQLiteStateStore(path: path)
        #expect(try SQLiteStateStore(path: path).schemaVersion == Migration.latestVersion)
    }

    @Test func refusesAFileThatIsNotADatabase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StoreError.self) { _ = try SQLiteStateStore(path: path) }
        guard case .corrupt = error else {
            Issue.record("expected .corrupt, got \(String(describing: error))")
            return
        }
    }

    @Test func refusesAPathInAMissingDirectory() throws {
        let directory = try TemporaryDirectory()
        let error = #expect(throws: StoreError.self) {
            _ = try SQLiteStateStore(path: directory.file("missing/dir/state.db"))
        }
        guard case .openFailed = error else {
            Issue.record("expected .openFailed, got \(String(describing: error))")
            return
        }
    }

    @Test func diskFullWritesNothingAndRecovers() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        let store = try SQLiteStateStore(path: path)
        try store.apply(Self.batch(0))
        let before = try Snapshot(store)
        // Cap the file at its current size: any batch that needs a new page hits SQLITE_FULL.
        try store.executeForTesting("PRAGMA max_page_count = 1")
        var big: [StoreWrite] = [.appendAudit(Fixture.audit("big"))]
        for index in 0..<50 {
            var token = Fixture.token("big-\(index)", account: "acc-0")
            token.sealedValue = Array(repeating: UInt8(index), count: 4096)
            big.append(.insertToken(token))
        }
        #expect(throws: StoreError.diskFull(path: path)) { try store.apply(big) }
        #expect(try Snapshot(store) == before)
        #expect(StoreError.diskFull(path: path).description.contains("free space and retry; nothing was written"))
        #expect(StoreError.diskFull(path: path).isTransient)
        try store.executeForTesting("PRAGMA max_page_count = 1073741823")
        try store.apply(big)
        #expect(try store.allTokens().count == 51)
        #expect(try store.auditRecords(accountID: nil, limit: 1).first?.sequence == 2)
    }

    /// Crash images: copy the database and its WAL while the store is open (what a SIGKILL leaves on disk),
    /// also with the WAL cut at many offsets (a torn last write); each image must open and hold exactly
    /// a prefix of the committed batches, every batch whole.
    @Test func crashImagesHoldWholeCommittedBatches() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        let store = try SQLiteStateStore(path: path)
        let batches = 20
        for index in 0..<batches { try store.apply(Self.batch(index)) }
        let database = try Data(contentsOf: URL(fileURLWithPath: path))
        let wal = try Data(contentsOf: URL(fileURLWithPath: path + "-wal"))
        #expect(wal.count > 0)

        var cuts = Set(stride(from: 0, through: wal.count, by: max(1, wal.count / 40)))
        cuts.formUnion([wal.count, wal.count - 1, 32, 31, 4096 + 24 + 1])
        var seenCounts = Set<Int>()
        for cut in cuts.sorted() where cut >= 0 && cut <= wal.count {
            let image = directory.file("crash-\(cut).db")
            try database.write(to: URL(fileURLWithPath: image))
            try wal.prefix(cut).write(to: URL(fileURLWithPath: image + "-wal"))
            let recovered = try SQLiteStateStore(path: image)
            let accounts = try recovered.accounts().map(\.id)
            let count = accounts.count
            seenCounts.insert(count)
            #expect(accounts == (0..<count).map { "acc-\($0)" }, "cut \(cut)")
            #expect(try recovered.allTokens().map(\.id) == (0..<count).map { "tok-\($0)" }, "cut \(cut)")
            #expect(
                try recovered.auditRecords(accountID: nil, limit: 100).map(\.sequence)
                    == (0..<count).reversed().map { Int64($0 + 1) }, "cut \(cut)")
            if cut == wal.count { #expect(count == batches) }
        }
        // The cuts really land in different places of the history.
        #expect(seenCounts.count > 3)
    }
}
