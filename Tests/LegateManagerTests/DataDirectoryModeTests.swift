import Foundation
import LegateManager
import Testing

/// Everything the manager writes in its data directory is private to its owner: files 0600, directories 0700.
@Suite struct DataDirectoryModeTests {
    @Test func everyFileIsOwnerOnlyAfterARealStart() throws {
        let harness = try ManagerHarness()
        // A second start reads what the first wrote and must not loosen anything.
        try harness.restart()
        let root = harness.dataDirectory
        let names = try FileManager.default.subpathsOfDirectory(atPath: root)
        for required in ["legate.db", "legate.db-wal", "legate.db-shm", "tls/ca.pem", "tls/server-key.pem"] {
            #expect(names.contains(required), "\(required) missing; found \(names.sorted())")
        }
        #expect(names.count >= 6)
        for name in [""] + names {
            let path = name.isEmpty ? root : root + "/" + name
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let mode = try #require(attributes[.posixPermissions] as? Int)
            let isDirectory = attributes[.type] as? FileAttributeType == .typeDirectory
            #expect(mode == (isDirectory ? 0o700 : 0o600), "\(name.isEmpty ? "data directory" : name): \(String(mode, radix: 8))")
        }
    }
}
