import Foundation
import LegateDelegate
import Testing

@Suite struct StateDirectoryLockTests {
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "legate-state-lock-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aSecondClaimOnTheSameDirectoryIsRefusedUntilTheFirstEnds() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first: StateDirectoryLock? = try StateDirectoryLock(directory: directory)
        #expect(first != nil)
        #expect(throws: StateDirectoryLockError.held(directory: directory)) {
            _ = try StateDirectoryLock(directory: directory)
        }
        let message = StateDirectoryLockError.held(directory: directory).description
        #expect(message.contains(directory) && message.contains("--state-dir"))
        first = nil  // the process that held it ended
        _ = try StateDirectoryLock(directory: directory)
    }

    @Test func aMissingDirectoryIsAnUnusableStateDirectory() {
        #expect {
            _ = try StateDirectoryLock(directory: "/nonexistent/legate-state")
        } throws: { error in
            guard case .unusable(let directory, _) = error as? StateDirectoryLockError else { return false }
            return directory == "/nonexistent/legate-state"
        }
    }

    @Test func delegateNamesBecomeOneSafePathComponent() {
        #expect(DelegateSettings.directoryName("build-1") == "build-1")
        #expect(DelegateSettings.directoryName("ci.host_2") == "ci.host_2")
        #expect(DelegateSettings.directoryName("../etc/passwd") == ".._etc_passwd")
        #expect(DelegateSettings.directoryName("..") == "delegate")
        #expect(DelegateSettings.directoryName("") == "delegate")
        #expect(DelegateSettings.directoryName("héllo wörld") == "h_llo_w_rld")
    }
}
