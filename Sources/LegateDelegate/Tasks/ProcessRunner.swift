import Dispatch
import Foundation
import LegateNet
import Synchronization

/// What to run and under which bounds (`ProcessRunner.run`).
public struct ProcessSpec: Sendable, Equatable {
    /// Absolute path, or a name looked up in `PATH` (no shell is involved).
    public var command: String
    /// Arguments, passed as they are.
    public var arguments: [String]
    /// Working directory; nil inherits the delegate's.
    public var workingDirectory: String?
    /// Variables added to (or overriding) the delegate's own environment.
    public var environment: [String: String]
    /// Kill the process after this long; nil: no limit.
    public var timeout: Duration?
    /// Captured output (stdout and stderr interleaved) kept; beyond it the output ends with a marker.
    public var maxOutputBytes: Int
    /// After SIGTERM, wait this long before SIGKILL. Default 2 s.
    public var terminationGrace: Duration

    /// Creates a spec; output bound 64 KiB, grace 2 s.
    public init(
        command: String, arguments: [String] = [], workingDirectory: String? = nil,
        environment: [String: String] = [:], timeout: Duration? = nil, maxOutputBytes: Int = 64 << 10,
        terminationGrace: Duration = .seconds(2)
    ) {
        self.command = command
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.timeout = timeout
        self.maxOutputBytes = max(0, maxOutputBytes)
        self.terminationGrace = terminationGrace
    }
}

/// How a process ended.
public struct ProcessOutcome: Sendable, Equatable {
    /// Why it ended.
    public enum Ending: Sendable, Equatable {
        /// It exited (or died of a signal) on its own.
        case exited
        /// `timeout` hit; it was killed.
        case timedOut
        /// The calling Task was cancelled; it was killed.
        case cancelled
    }

    /// Exit status; 128 + signal number when a signal killed it (shell convention).
    public var exitCode: Int32
    /// The signal that killed it, if one did.
    public var signal: Int32?
    /// Captured output, at most `maxOutputBytes` plus the truncation marker.
    public var output: [UInt8]
    /// True when output beyond the bound was dropped.
    public var isOutputTruncated: Bool
    /// Why it ended.
    public var ending: Ending
}

/// Runs one process with Foundation `Process`: no shell, its own process group (Foundation starts children with
/// pgid = pid on Linux; the whole group is signalled, so children die too), stdout and stderr through one pipe
/// read by a dedicated thread per process.
///
/// Cancellation of the calling Task, or the timeout, sends SIGTERM to the group and SIGKILL after
/// `terminationGrace`. When the process exits, whatever it left running in its group is killed (SIGKILL); a
/// process that escaped the group (setsid) and still holds the pipe open delays the outcome by at most 200 ms.
public enum ProcessRunner {
    /// The marker appended to captured output that hit the bound.
    public static func truncationMarker(limit: Int) -> [UInt8] {
        Array("\n[output truncated at \(limit) bytes]\n".utf8)
    }

    /// Runs `spec` to its end; `onOutput` gets every chunk as it arrives (any thread, in order).
    public static func run(
        _ spec: ProcessSpec, onOutput: @escaping @Sendable ([UInt8]) -> Void = { _ in }
    ) async throws(TaskError) -> ProcessOutcome {
        let executable = try self.resolve(spec.command)
        if let directory = spec.workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw .cannotLaunch(
                    command: spec.command,
                    reason: "working directory '\(directory)' does not exist or is not a directory")
            }
        }
        let running = RunningProcess(spec: spec, executable: executable, onOutput: onOutput)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in running.start(continuation) }
        } onCancel: {
            running.terminate(.cancelled)
        }
        return try result.get()
    }

    /// The executable for `command`: a path is used as is, a bare name is looked up in `PATH`.
    static func resolve(_ command: String) throws(TaskError) -> String {
        guard !command.isEmpty else { throw .cannotLaunch(command: command, reason: "the command is empty") }
        let manager = FileManager.default
        if command.contains("/") {
            guard manager.fileExists(atPath: command) else {
                throw .cannotLaunch(command: command, reason: "no such file; give an absolute path that exists")
            }
            guard manager.isExecutableFile(atPath: command) else {
                throw .cannotLaunch(command: command, reason: "the file is not executable (chmod +x?)")
            }
            return command
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if manager.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw .cannotLaunch(command: command, reason: "not found in PATH (\(path)); give an absolute path")
    }
}

/// One launched process and what is known about it.
///
/// `@unchecked Sendable`: `process` and `pipe` are configured in `init`, launched once by the worker thread
/// (`launchAndRead`), and afterwards only read (pid, read end) or handled by Foundation; every mutable field
/// lives in `state` (a Mutex).
private final class RunningProcess: @unchecked Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<ProcessOutcome, TaskError>, Never>?
        var pid: Int32 = 0
        var output: [UInt8] = []
        var isTruncated = false
        var ending: ProcessOutcome.Ending?
        var exit: (code: Int32, signal: Int32?)?
        var isDrained = false
    }

    private let spec: ProcessSpec
    private let process = Process()
    private let pipe = Pipe()
    private let onOutput: @Sendable ([UInt8]) -> Void
    private let state = Mutex(State())

    init(spec: ProcessSpec, executable: String, onOutput: @escaping @Sendable ([UInt8]) -> Void) {
        self.spec = spec
        self.onOutput = onOutput
        self.process.executableURL = URL(fileURLWithPath: executable)
        self.process.arguments = spec.arguments
        if let directory = spec.workingDirectory {
            self.process.currentDirectoryURL = URL(fileURLWithPath: directory)
        }
        if !spec.environment.isEmpty {
            self.process.environment = ProcessInfo.processInfo.environment.merging(spec.environment) { $1 }
        }
        self.process.standardInput = FileHandle.nullDevice
        self.process.standardOutput = self.pipe
        self.process.standardError = self.pipe
    }

    func start(_ continuation: CheckedContinuation<Result<ProcessOutcome, TaskError>, Never>) {
        let alreadyCancelled = self.state.withLock { state -> Bool in
            state.continuation = continuation
            return state.ending != nil
        }
        if alreadyCancelled {
            let outcome = ProcessOutcome(exitCode: -1, output: [], isOutputTruncated: false, ending: .cancelled)
            self.complete(.success(outcome))
            return
        }
        self.process.terminationHandler = { [weak self] process in
            let signalled = process.terminationReason == .uncaughtSignal
            self?.exited(code: signalled ? 128 + process.terminationStatus : process.terminationStatus,
                         signal: signalled ? process.terminationStatus : nil)
        }
        let worker = Thread { [self] in self.launchAndRead() }
        worker.name = "legate.process"
        worker.start()
    }

    /// On a dedicated thread: starts the process, then reads its output to end of file.
    private func launchAndRead() {
        // Dispatch and Swift-concurrency worker threads block SIGTERM (among others) and a spawned child
        // inherits the mask, so a command started from one could not be stopped with SIGTERM. This thread
        // launches with an empty mask, then restores its own.
        var empty = sigset_t()
        var saved = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &saved)
        let launched: Result<Void, any Error> = Result { try self.process.run() }
        pthread_sigmask(SIG_SETMASK, &saved, nil)
        if case .failure(let error) = launched {
            self.complete(.failure(.cannotLaunch(command: self.spec.command, reason: Self.reason(error))))
            return
        }
        let pendingEnding = self.state.withLock { state -> ProcessOutcome.Ending? in
            state.pid = self.process.processIdentifier
            defer { state.ending = nil }
            return state.ending
        }
        let pid = self.process.processIdentifier
        ProcessGroups.launched(pid)
        let waiter = Thread { [self] in self.waitForExit(pid: pid) }
        waiter.name = "legate.process-wait"
        waiter.start()
        if let pendingEnding {
            self.terminate(pendingEnding)
        } else if let timeout = self.spec.timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout.dispatchInterval) { [weak self] in
                self?.terminate(.timedOut)
            }
        }
        // Foundation closed our copy of the pipe's write end in `run()`, so end of file comes when the process
        // (and any child still holding the pipe) is gone. This thread is the only reader of the read end; the
        // `Pipe` closes it when released.
        self.readUntilEndOfFile()
    }

    /// Learns of the exit as soon as it happens, without reaping (Foundation reaps): Foundation on Linux reports
    /// the end only once every process that inherited the child's descriptors is gone, which a background child
    /// can delay for as long as it runs. If Foundation reaped first (ECHILD), its `terminationHandler` reports.
    private func waitForExit(pid: Int32) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
            guard errno == EINTR else { return }
        }
        let status = info._sifields._sigchld.si_status
        if info.si_code == Int32(CLD_EXITED) {
            self.exited(code: status, signal: nil)
        } else {
            self.exited(code: 128 + status, signal: status)
        }
    }

    /// The POSIX reason inside a Foundation launch error, else its description.
    private static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return "\(error)"
    }

    /// SIGTERM to the process group now, SIGKILL after the grace unless it exited; the first reason wins.
    func terminate(_ reason: ProcessOutcome.Ending) {
        let pid = self.state.withLock { state -> Int32 in
            guard state.ending == nil, state.exit == nil else { return 0 }
            state.ending = reason
            return state.pid
        }
        guard pid > 0 else { return }  // not launched yet: `start` sees `ending` and stops it
        kill(-pid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + self.spec.terminationGrace.dispatchInterval) {
            [weak self] in
            guard let self, self.state.withLock({ $0.exit == nil }) else { return }
            kill(-pid, SIGKILL)
        }
    }

    private func readUntilEndOfFile() {
        let descriptor = self.pipe.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                self.received(Array(buffer[0..<count]))
            } else if count < 0, errno == EINTR {
                continue
            } else {
                break
            }
        }
        self.state.withLock { $0.isDrained = true }
        self.completeIfDone()
    }

    private func received(_ bytes: [UInt8]) {
        self.state.withLock { state in
            let room = self.spec.maxOutputBytes - state.output.count
            if bytes.count <= room {
                state.output.append(contentsOf: bytes)
            } else if !state.isTruncated {
                state.output.append(contentsOf: bytes.prefix(max(0, room)))
                state.isTruncated = true
            }
        }
        self.onOutput(bytes)
    }

    /// The process ended (first report wins: the waiter thread or Foundation's `terminationHandler`).
    private func exited(code: Int32, signal: Int32?) {
        let pid = self.state.withLock { state -> Int32? in
            guard state.exit == nil else { return nil }
            state.exit = (code, signal)
            return state.pid
        }
        guard let pid else { return }
        // Children it left running in its process group go too (they would hold the output pipe open).
        if pid > 0 {
            kill(-pid, SIGKILL)
            ProcessGroups.exited(pid)
        }
        self.completeIfDone()
        // A grandchild may keep the pipe open: do not wait for its end of file for long.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(200)) { [weak self] in
            guard let self else { return }
            self.state.withLock { $0.isDrained = true }
            self.completeIfDone()
        }
    }

    private func completeIfDone() {
        let outcome = self.state.withLock { state -> ProcessOutcome? in
            guard let exit = state.exit, state.isDrained, state.continuation != nil else { return nil }
            var output = state.output
            if state.isTruncated { output += ProcessRunner.truncationMarker(limit: self.spec.maxOutputBytes) }
            return ProcessOutcome(
                exitCode: exit.code, signal: exit.signal, output: output, isOutputTruncated: state.isTruncated,
                ending: state.ending ?? .exited)
        }
        guard let outcome else { return }
        self.complete(.success(outcome))
    }

    private func complete(_ result: Result<ProcessOutcome, TaskError>) {
        let continuation = self.state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: result)
    }
}
