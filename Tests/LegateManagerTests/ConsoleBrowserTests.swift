import Foundation
import Synchronization
import Testing

/// The console in a real browser: runs `Tests/Console/console_browser_test.py` (headless Chromium driven by
/// Selenium against the built legate-manager with real legate-delegate processes). A missing browser, driver or
/// Selenium fails the test with the suite's message naming `.ci/run`; it is never skipped.
struct ConsoleBrowserTests {
    @Test func theConsoleWorksInHeadlessChromium() async throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let binDirectory = root.appendingPathComponent(".build/debug").path
        let screenshots = NSTemporaryDirectory() + "legate-console-screenshots-" + UUID().uuidString
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", root.appendingPathComponent("Tests/Console/console_browser_test.py").path, "--bin-dir",
            binDirectory, "--screenshots", screenshots,
        ]
        // The whole environment passes on (python3 finds Selenium where pip put it, e.g. under HOME, and
        // LEGATE_UPDATE_SCREENSHOTS reaches the suite); the suite gives the manager and delegates a minimal one.
        process.environment = ProcessInfo.processInfo.environment
        // One file for both streams: reading two pipes in turn could block on the one not read.
        let logPath = NSTemporaryDirectory() + "legate-console-browser-" + UUID().uuidString + ".log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let exit = BrowserSuiteExit()
        process.terminationHandler = { _ in exit.fire(true) }
        try process.run()
        // The suite bounds each of its waits; this bounds the whole run should the browser itself hang. The wait
        // suspends instead of blocking: a test holding a cooperative thread for the suite's length starves the
        // async tests running beside it.
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(240)) { exit.fire(false) }
        let finished = await exit.wait()
        if !finished {
            process.terminate()
            process.waitUntilExit()
        }
        try log.close()
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        #expect(finished, "the browser suite did not finish within 240 s:\n\(output)")
        #expect(process.terminationStatus == 0, "the browser suite failed:\n\(output)")
        #expect(output.contains("console browser suite passed"), "\(output)")
    }
}

/// Fires once, with whether the process exited (true) or the time ran out (false); `wait` suspends until then.
final class BrowserSuiteExit: Sendable {
    private struct State {
        var fired: Bool?
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private let state = Mutex(State())

    /// Records the outcome (only the first call counts) and resumes the waiter.
    func fire(_ value: Bool) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard state.fired == nil else { return nil }
            state.fired = value
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: value)
    }

    /// The outcome, once fired.
    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state -> Bool? in
                if let fired = state.fired { return fired }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
