import Foundation
import LegateCore
import Testing

@testable import LegateStore

/// The database and the files SQLite makes beside it are readable by their owner only.
@Suite struct FileModeTests {
    static func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func aNewStoreAndItsWALAreOwnerOnly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        let store = try SQLiteStateStore(path: path)
        try store.apply([.insertAccount(AccountRecord(id: "acct_1", name: "a", createdAt: 1))])
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(try Self.mode(file) == 0o600, "\(file)")
        }
    }

    @Test func anOlderWorldReadableStoreIsTightened() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.db")
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o644]))
        }
        let store = try SQLiteStateStore(path: path)
        try store.apply([.insertAccount(AccountRecord(id: "acct_1", name: "a", createdAt: 1))])
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(try Self.mode(file) == 0o600, "\(file)")
        }
    }
}
