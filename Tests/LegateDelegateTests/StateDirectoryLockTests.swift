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
        try Self.holding(directory) {
            #expect(throws: StateDirectoryLockError.held(directory: directory)) {
                _ = try StateDirectoryLock(directory: directory)
            }
        }
        let message = StateDirectoryLockError.held(directory: directory).description
        #expect(message.contains(directory) && message.contains("--state-dir"))
        // The holder is gone (its descriptor closed): the directory can be claimed again. Bounded retries: a
        // process another test spawns at that moment shares the descriptor until its exec closes it.
        let deadline = ContinuousClock.now + .seconds(5)
        var reclaimed: StateDirectoryLock?
        while reclaimed == nil, ContinuousClock.now < deadline {
            reclaimed = try? StateDirectoryLock(directory: directory)
            if reclaimed == nil { usleep(10_000) }
        }
        #expect(reclaimed != nil)
    }

    /// Runs `body` while a lock on `directory` is held, and releases it before returning.
    static func holding(_ directory: String, _ body: () throws -> Void) throws {
        let lock = try StateDirectoryLock(directory: directory)
        try withExtendedLifetime(lock) { try body() }
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
