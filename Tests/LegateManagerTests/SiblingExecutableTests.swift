import Foundation
import LegateManager
import Testing

/// The banner's delegate command names the binary next to the manager when there is one.
@Suite struct SiblingExecutableTests {
    @Test func theBinaryNextToTheManagerIsNamedElseSwiftRun() throws {
        let directory = NSTemporaryDirectory() + "legate-bin-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manager = directory + "/legate-manager"
        #expect(SiblingExecutable.command("legate-delegate", nextTo: manager) == "swift run legate-delegate")
        #expect(SiblingExecutable.command("legate-delegate", nextTo: nil) == "swift run legate-delegate")
        let delegate = directory + "/legate-delegate"
        #expect(FileManager.default.createFile(atPath: delegate, contents: Data(), attributes: [.posixPermissions: 0o755]))
        #expect(SiblingExecutable.command("legate-delegate", nextTo: manager) == delegate)
        #expect(SiblingExecutable.currentExecutable()?.hasPrefix("/") == true)
    }
}
