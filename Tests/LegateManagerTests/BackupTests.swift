import Foundation
import LegateAdminClient
import LegateAuth
import LegateCore
import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Synchronization
import Testing

/// `legate-manager backup` against a running manager that keeps writing, then a restore from the copy.
@Suite(.serialized) struct BackupTests {
    func client(port: Int, caFile: String, key: String, loop: EventLoop) throws(AdminClientError) -> AdminClient {
        try AdminClient.connect(
            host: "127.0.0.1", port: port, caFile: caFile, serverName: "localhost", apiKey: key, loop: loop)
    }

    @Test func backupWhileWritingThenRestore() throws {
        let harness = try ManagerHarness()
        let adminKey = harness.manager.report.newAdminKeyValue ?? ""
        let admin = try self.client(port: harness.port, caFile: harness.caFile, key: adminKey, loop: harness.group.next())
        let created = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            defer { done.signal() }
            // Bounded: the writer stops on its own after 500 tokens even if the test never says stop.
            for index in 0..<500 where !stop.load(ordering: .acquiring) {
                var request = TokenCreateRequest()
                request.name = "w\(index)"
                guard (try? admin.call(.tokenCreate, request, as: TokenCreateResponse.self)) != nil else { return }
                created.add(1, ordering: .releasing)
            }
        }
        #expect(eventually { created.load(ordering: .acquiring) >= 5 })
        let backupFile = harness.dataDirectory + "-backup.db"
        defer { try? FileManager.default.removeItem(atPath: backupFile) }
        let before = created.load(ordering: .acquiring)
        let report = try DataDirectoryBackup.run(dataDirectory: harness.dataDirectory, to: backupFile)
        let after = created.load(ordering: .acquiring)
        stop.store(true, ordering: .releasing)
        done.wait()

        #expect(report.masterKeyFile == harness.dataDirectory + "/master.key")
        #expect(report.bytes > 0 && report.schemaVersion > 0)
        let mode = try FileManager.default.attributesOfItem(atPath: backupFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // An existing file is never overwritten.
        #expect(throws: ManagerError.self) {
            try DataDirectoryBackup.run(dataDirectory: harness.dataDirectory, to: backupFile)
        }

        // Restore: the copy as legate.db and the master key beside it, in a fresh directory.
        let restored = NSTemporaryDirectory() + "legate-restore-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: restored) }
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: backupFile, toPath: restored + "/legate.db")
        try FileManager.default.copyItem(atPath: report.masterKeyFile, toPath: restored + "/master.key")
        var configuration = harness.configuration
        configuration.port = 0
        configuration.dataDirectory = restored
        let manager = try Manager.start(configuration: configuration, log: InMemoryLogSink(), clock: SystemClock())
        defer { manager.shutdown() }
        #expect(manager.report.accountID == harness.accountID)
        #expect(manager.report.newDefaultTokenValue == nil && manager.report.newAdminKeyValue == nil)
        let restoredAdmin = try self.client(
            port: manager.port, caFile: manager.report.caFile ?? "", key: adminKey, loop: harness.group.next())
        let tokens = try restoredAdmin.call(.tokenList, TokenListRequest(), as: TokenListResponse.self).tokens
        let written = tokens.filter { $0.name.hasPrefix("w") }.count
        #expect(written >= before && written <= after, "\(written) not within \(before)...\(after)")
        // The token values decrypt with the restored master key.
        var ref = TokenRef()
        ref.tokenID = harness.token.id
        #expect(try restoredAdmin.call(.tokenCopy, ref, as: TokenCopyResponse.self).value == harness.token.value)
    }

    @Test func backupRefusesADirectoryWithoutMasterKey() throws {
        let directory = NSTemporaryDirectory() + "legate-empty-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: ManagerError.self) {
            try DataDirectoryBackup.run(dataDirectory: directory, to: directory + "/copy.db")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/copy.db"))
    }
}
