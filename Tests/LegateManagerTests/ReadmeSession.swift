import Foundation
import LegateTestSupport
import Testing

/// Runs README examples in order the way a user at a terminal would, in a fresh directory:
///
/// - `swift` is a stand-in first on PATH: `swift run NAME ARGS` runs the built `.build/debug/NAME` (the test runs
///   after the build, and a nested SwiftPM build would contend for the package's build lock); `swift build` does
///   nothing. `.build/release` in the directory links to the debug binaries, so the load-test section runs
///   without a release build of minutes.
/// - Foreground examples run one after the other in one shell session: what one exports, the next one sees.
///   Background examples (a manager, delegates: "in another terminal") run in a session of their own, and the
///   test waits, bounded, until their output shows what the marker names.
/// - Ports: every manager binds a port the OS chooses (`LEGATE_PORT=0`, and `--port P` becomes `--port 0`), so
///   parallel runs never clash; the port its banner reports then replaces the documented one (7443, or P) in
///   the examples that follow, as the documented `LEGATE_MANAGER` address.
/// - Placeholders (`<account id>`, `<token value>`, `<admin key>`, `<task id>`) take the value the output above
///   printed last, as a user copies it.
final class ReadmeSession {
    /// What one example run printed and how it ended (nil: still running).
    struct Run {
        let example: ReadmeExample
        let log: String
        let status: Int32?
    }

    let root: String
    let work: String
    let state: String
    private(set) var values: [String: String] = [:]
    private(set) var ports: [String: String] = [:]
    private var background: [(example: ReadmeExample, process: Process, group: Int32, log: String)] = []
    private var counter = 0

    /// Makes the directory, the `swift` stand-in and the `.build/release` link.
    init(packageRoot: String) throws {
        self.root = NSTemporaryDirectory() + "legate-readme-" + UUID().uuidString
        self.work = self.root + "/work"
        self.state = self.root + "/state"
        for directory in [self.work + "/.build", self.state, self.root + "/bin", self.root + "/home"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        self.packageRoot = packageRoot
        let shim = """
            #!/bin/sh
            # Stands in for swift in the README's examples: the executables are built already.
            case "$1" in
              run) shift; if [ "$1" = "-c" ]; then shift 2; fi; exec "$@" ;;
              build) exit 0 ;;
              *) echo "swift $1: not run by the README example test" >&2; exit 2 ;;
            esac

            """
        try shim.write(toFile: self.root + "/bin/swift", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: self.root + "/bin/swift")
        try FileManager.default.createSymbolicLink(
            atPath: self.work + "/.build/release", withDestinationPath: packageRoot + "/.build/debug")
    }

    private let packageRoot: String

    /// The environment every example starts from: nothing inherited from the test process.
    var environment: [String: String] {
        [
            "PATH": "\(self.root)/bin:\(self.packageRoot)/.build/debug:/usr/bin:/bin", "HOME": self.root + "/home",
            "LANG": "C.UTF-8", "LEGATE_PORT": "0",
        ]
    }

    /// The example's script with the ports and placeholders of the runs before it; throws naming a placeholder
    /// nothing has printed yet.
    func resolve(_ example: ReadmeExample) throws -> String {
        var script = example.script
        if let port = ReadmeExamples.portFlag(in: script) {
            script = script.replacingOccurrences(of: "--port \(port)", with: "--port 0")
        }
        for (documented, actual) in self.ports {
            script = script.replacingOccurrences(of: ":\(documented)", with: ":\(actual)")
        }
        for placeholder in ReadmeExamples.placeholders(in: script) {
            let value = try #require(
                self.values[placeholder], "README line \(example.line): nothing printed a value for \(placeholder) yet")
            script = script.replacingOccurrences(of: placeholder, with: value)
        }
        return script
    }

    /// Writes the shell script that runs `body` for `example`; returns its path and the log's path.
    private func scriptFile(_ example: ReadmeExample, body: String, isBackground: Bool) throws -> (String, String) {
        self.counter += 1
        let base = "\(self.state)/\(self.counter)-\(example.name)"
        let prologue = """
            set -e -o pipefail
            if [ -f '\(self.state)/env.sh' ]; then . '\(self.state)/env.sh'; fi
            cd '\(self.work)'
            echo $$ > '\(base).group'

            """
        // In the background the shell waits out its command after SIGTERM (a trap, not the default of dying), so
        // its exit status is the command's: how the delegate and manager ended.
        let epilogue = isBackground ? "" : "export -p > '\(self.state)/env.sh'\n"
        let script = prologue + (isBackground ? "trap : TERM\n" : "") + body + epilogue
        try script.write(toFile: base + ".sh", atomically: true, encoding: .utf8)
        return (base + ".sh", base + ".log")
    }

    /// Starts the script in a session (and process group) of its own, output to `log`.
    private func start(_ script: String, log: String) throws -> (Process, DispatchSemaphore) {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["--wait", "/bin/bash", script]
        process.environment = self.environment
        process.currentDirectoryURL = URL(fileURLWithPath: self.work)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        try process.run()
        try handle.close()
        return (process, ended)
    }

    private func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The process group the script wrote (its shell is the session leader), or nil before it ran.
    private func group(of script: String) -> Int32? {
        let path = script.replacingOccurrences(of: ".sh", with: ".group")
        return Int32(self.text(path).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Learns ports and values from a run's output.
    private func learn(_ example: ReadmeExample, output: String) {
        if let actual = ReadmeExamples.listeningPort(in: output) {
            self.ports[ReadmeExamples.portFlag(in: example.script) ?? "7443"] = actual
        }
        ReadmeExamples.learn(from: output, into: &self.values)
    }

    /// Runs a foreground example to its end (at most `timeout`); its output and exit status.
    func runForeground(_ example: ReadmeExample, timeout: Duration = .seconds(120)) throws -> Run {
        let (script, log) = try self.scriptFile(example, body: try self.resolve(example), isBackground: false)
        let (process, ended) = try self.start(script, log: log)
        let finished = ended.wait(timeout: .now() + timeout.dispatchInterval) == .success
        if !finished, let group = self.group(of: script) { kill(-group, SIGKILL) }
        let output = self.text(log)
        self.learn(example, output: output)
        return Run(example: example, log: output, status: finished ? process.terminationStatus : nil)
    }

    /// Starts a background example and waits (at most `timeout`) until its output holds the marker's text as often
    /// as it says; the output so far, and the exit status if it already ended.
    func startBackground(_ example: ReadmeExample, timeout: Duration = .seconds(60)) throws -> Run {
        guard case .background(let until, let count) = example.mode else {
            return Run(example: example, log: "", status: nil)
        }
        let (script, log) = try self.scriptFile(example, body: try self.resolve(example), isBackground: true)
        let (process, _) = try self.start(script, log: log)
        _ = eventually(timeout: timeout) {
            self.text(log).components(separatedBy: until).count > count || !process.isRunning
        }
        _ = eventually(timeout: .seconds(5)) { self.group(of: script) != nil }
        self.background.append((example, process, self.group(of: script) ?? 0, log))
        let output = self.text(log)
        self.learn(example, output: output)
        return Run(example: example, log: output, status: process.isRunning ? nil : process.terminationStatus)
    }

    /// Stops the background examples, newest first, as a user would with SIGTERM (Ctrl-C is SIGINT, handled the
    /// same), waiting for each whole process group to end; what each printed and its exit status (nil: it had to
    /// be killed).
    func stopAll(timeout: Duration = .seconds(30)) -> [Run] {
        var runs: [Run] = []
        for (example, process, group, log) in self.background.reversed() {
            let wasRunning = process.isRunning
            if group > 0 { kill(-group, SIGTERM) }
            let ended = eventually(timeout: timeout) { !process.isRunning && (group <= 0 || kill(-group, 0) != 0) }
            if !ended, group > 0 { kill(-group, SIGKILL) }
            _ = eventually(timeout: .seconds(5)) { !process.isRunning }
            runs.append(
                Run(
                    example: example, log: self.text(log),
                    status: ended || !wasRunning ? process.terminationStatus : nil))
        }
        self.background = []
        return runs
    }

    deinit {
        for (_, _, group, _) in self.background where group > 0 { kill(-group, SIGKILL) }
        try? FileManager.default.removeItem(atPath: self.root)
    }
}
