import Foundation
import LegateNet
import LegateTestSupport
import Testing

/// Runs the built `legate-delegate` binary against a test manager, its log in a file the test can read.
final class DelegateProcess: @unchecked Sendable {
    // `@unchecked Sendable`: `process` is set up in init; `exited` is a semaphore.
    /// `.build/debug/legate-delegate` next to this package (built by `swift build --build-tests`).
    static let binary: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let path = url.appendingPathComponent(".build/debug/legate-delegate").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// True when the binary is there to run.
    static var isBuilt: Bool { Self.binary != nil }

    let process = Process()
    let logPath: String
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the delegate with `environment` (and `arguments`); its standard output and error go to `logPath`.
    /// Without a state directory in `environment` it gets its own beside the log: a state directory is one
    /// delegate (its device key and instance id), so two processes sharing the default would be the same delegate.
    init(environment: [String: String], arguments: [String] = [], logPath: String) throws {
        let binary = try #require(Self.binary, "build legate-delegate first (swift build --build-tests)")
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        self.process.executableURL = URL(fileURLWithPath: binary)
        self.process.arguments = arguments
        self.process.environment = environment.merging([
            "PATH": "/usr/bin:/bin", "LEGATE_DELEGATE_STATE_DIR": logPath + ".state",
        ]) { current, _ in current }
        self.process.standardOutput = log
        self.process.standardError = log
        self.process.standardInput = FileHandle.nullDevice
        self.process.terminationHandler = { [exited] _ in exited.signal() }
        try self.process.run()
    }

    deinit {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }

    /// The log written so far.
    var log: String { (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? "" }

    /// Waits up to `timeout` for the process to exit; its status, or nil if it is still running.
    func waitForExit(timeout: Duration) -> Int32? {
        guard self.exited.wait(timeout: .now() + timeout.dispatchInterval) == .success else { return nil }
        self.exited.signal()  // later waits see it too
        let status = self.process.terminationStatus
        return self.process.terminationReason == .exit ? status : 128 + status
    }

    /// True when no process `pid` runs (gone, or a zombie waiting to be reaped).
    static func isGone(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 { return true }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
