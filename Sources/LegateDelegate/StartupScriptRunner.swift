import Dispatch
import Foundation
import Synchronization

/// Runs a profile's startup script with `/bin/sh -c` (issue 5), off the event loop, with bounded output and a
/// deadline.
public enum StartupScriptRunner {
    /// How a run ended.
    public struct Outcome: Sendable, Equatable {
        /// The exit status; -1 when it could not start, was killed or timed out.
        public var exitCode: Int32
        /// Combined stdout and stderr, at most `maxOutputBytes`.
        public var output: [UInt8]
        /// Why it did not run to an exit status, if so.
        public var error: String
        /// Wall time it took.
        public var duration: Duration
    }

    /// Output beyond this is read and dropped (64 KiB).
    public static let maxOutputBytes = 64 * 1024
    /// Scripts still running after this are terminated. Default 10 min.
    public static let defaultTimeout: Duration = .seconds(600)

    /// Runs `script` on a global queue and calls `completion` there once it ended.
    public static func run(
        _ script: String, timeout: Duration = Self.defaultTimeout,
        completion: @escaping @Sendable (Outcome) -> Void
    ) {
        DispatchQueue.global().async { completion(Self.runBlocking(script, timeout: timeout)) }
    }

    /// Runs `script` and blocks until it ended (never call it on an event loop).
    public static func runBlocking(_ script: String, timeout: Duration = Self.defaultTimeout) -> Outcome {
        let started = ContinuousClock.now
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Outcome(
                exitCode: -1, output: [], error: "cannot start /bin/sh: \(error)", duration: ContinuousClock.now - started)
        }
        let timedOut = Atomic<Bool>(false)
        let deadline = DispatchWorkItem {
            guard process.isRunning else { return }
            timedOut.store(true, ordering: .relaxed)
            process.terminate()
        }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .milliseconds(Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)),
            execute: deadline)
        var output: [UInt8] = []
        let reader = pipe.fileHandleForReading
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            let room = Self.maxOutputBytes - output.count
            if room > 0 { output += chunk.prefix(room) }
        }
        process.waitUntilExit()
        deadline.cancel()
        let duration = ContinuousClock.now - started
        if timedOut.load(ordering: .relaxed) {
            return Outcome(exitCode: -1, output: output, error: "timed out after \(timeout); terminated", duration: duration)
        }
        if process.terminationReason == .uncaughtSignal {
            return Outcome(
                exitCode: -1, output: output, error: "killed by signal \(process.terminationStatus)", duration: duration)
        }
        return Outcome(exitCode: process.terminationStatus, output: output, error: "", duration: duration)
    }
}
