import Foundation
import LegateWire
import Testing

@testable import LegateDelegate

/// The `shell` handler with real processes (short-lived; the long ones are killed early).
@Suite struct ShellTaskHandlerTests {
    func payload(_ command: String, _ arguments: [String] = [], workingDirectory: String? = nil,
                 environment: [String: String]? = nil, timeoutMs: UInt32? = nil, maxOutputBytes: Int? = nil)
        -> [UInt8]
    {
        ShellTaskHandler.Payload(
            command: command, arguments: arguments, workingDirectory: workingDirectory, environment: environment,
            timeoutMs: timeoutMs, maxOutputBytes: maxOutputBytes
        ).encoded()
    }

    /// Runs the handler directly; the context's log goes to the returned reporter.
    func run(_ payload: [UInt8], handler: ShellTaskHandler = ShellTaskHandler()) async
        -> (Result<TaskOutput, any Error>, RecordingReporter)
    {
        let reporter = RecordingReporter()
        let execution = TaskExecution(taskID: "s", attempt: 1, type: "shell", payload: payload)
        let context = TaskContext(
            execution: execution, reporter: reporter, timers: ManualTimers(), limits: .defaults)
        do {
            let output = try await handler.run(execution, context: context)
            context.finish(.success(output))
            return (.success(output), reporter)
        } catch {
            context.finish(.failure(error))
            return (.failure(error), reporter)
        }
    }

    @Test func echoSucceedsWithItsOutputAsResultAndLog() async throws {
        let (result, reporter) = await self.run(self.payload("/bin/echo", ["hello", "world"]))
        #expect(try result.get() == TaskOutput(output: Array("hello world\n".utf8)))
        #expect(reporter.updates.flatMap(\.logChunk) == Array("hello world\n".utf8))
    }

    @Test func aBareCommandNameIsLookedUpInPath() async throws {
        let (result, _) = await self.run(self.payload("echo", ["found"]))
        #expect(try result.get().output == Array("found\n".utf8))
    }

    @Test func stderrEnvironmentAndWorkingDirectory() async throws {
        let script = "echo \"$LEGATE_TEST_K\"; pwd; echo oops >&2"
        let (result, _) = await self.run(
            self.payload("/bin/sh", ["-c", script], workingDirectory: "/tmp", environment: ["LEGATE_TEST_K": "V"]))
        #expect(try result.get().output == Array("V\n/tmp\noops\n".utf8))
    }

    @Test func aNonZeroExitIsFailedWithTheExitCode() async {
        let (result, reporter) = await self.run(self.payload("/bin/sh", ["-c", "echo partial; exit 3"]))
        guard case .failure(let error as TaskError) = result else {
            Issue.record("expected TaskError, got \(result)")
            return
        }
        #expect(error == .failed(
            message: "'/bin/sh' exited with status 3", exitCode: 3, output: Array("partial\n".utf8)))
        #expect(reporter.results.map(\.exitCode) == [3])
        #expect(reporter.results.map(\.outcome) == [.failed])
    }

    @Test func thePayloadTimeoutKillsTheCommandAndIsTimedOut() async {
        let (result, reporter) = await self.run(self.payload("/bin/sleep", ["30"], timeoutMs: 100))
        guard case .failure(let error as TaskError) = result, case .timedOut(let message, _) = error else {
            Issue.record("expected timedOut, got \(result)")
            return
        }
        #expect(message == "'/bin/sleep' ran longer than timeoutMs (100 ms) and was killed; raise timeoutMs")
        #expect(reporter.results.map(\.outcome) == [.timedOut])
    }

    @Test func outputIsBoundedWithAMarker() async throws {
        let (result, reporter) = await self.run(
            self.payload("/bin/sh", ["-c", "head -c 100000 /dev/zero"], maxOutputBytes: 1000))
        let output = try result.get().output
        #expect(output == [UInt8](repeating: 0, count: 1000) + ProcessRunner.truncationMarker(limit: 1000))
        #expect(reporter.updates.reduce(0) { $0 + $1.logChunk.count } == 100_000)  // the log is bounded at 1 MiB
    }

    static let expectedJSON = "the shell task payload is invalid: expected a JSON object with at least \"command\""

    static let badPayloads: [(String, [UInt8], String)] = [
        ("not JSON", Array("ls -l".utf8),
         Self.expectedJSON + " (not valid JSON)"),
        ("no command", Array("{\"arguments\": []}".utf8),
         Self.expectedJSON + " (\"command\" is missing)"),
        ("wrong type", Array("{\"command\": 5}".utf8),
         Self.expectedJSON + " (\"command\" has the wrong type)"),
        ("empty command", Array("{\"command\": \"\"}".utf8),
         "the shell task payload is invalid: \"command\" is empty; give the program to run"),
        ("huge bound", Array("{\"command\": \"/bin/true\", \"maxOutputBytes\": 9000000}".utf8),
         "the shell task payload is invalid: maxOutputBytes 9000000 is outside 0...524288; lower it"),
        ("missing file", Array("{\"command\": \"/no/such/program\"}".utf8),
         "cannot start '/no/such/program': no such file; give an absolute path that exists"),
        ("missing directory", Array("{\"command\": \"/bin/true\", \"workingDirectory\": \"/no/such/dir\"}".utf8),
         "cannot start '/bin/true': working directory '/no/such/dir' does not exist or is not a directory"),
    ]

    @Test(arguments: 0..<Self.badPayloads.count)
    func badPayloadsFailWithAClearMessage(index: Int) async {
        let (name, payload, message) = Self.badPayloads[index]
        let (result, reporter) = await self.run(payload)
        guard case .failure(let error as TaskError) = result else {
            Issue.record("\(name): expected a TaskError, got \(result)")
            return
        }
        #expect(error.description == message, "\(name)")
        #expect(reporter.results.map(\.outcome) == [.failed], "\(name)")
    }

    @Test func aFileThatIsNotExecutableIsClear() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("legate-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(
            atPath: path, contents: Data("data".utf8), attributes: [.posixPermissions: 0o644]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (result, _) = await self.run(self.payload(path))
        guard case .failure(let error as TaskError) = result else {
            Issue.record("expected a TaskError, got \(result)")
            return
        }
        #expect(error == .cannotLaunch(command: path, reason: "the file is not executable (chmod +x?)"))
    }

    @Test func sigtermStopsTheCommandOnTimeout() async throws {
        let spec = ProcessSpec(command: "/bin/sleep", arguments: ["30"], timeout: .milliseconds(50))
        let outcome = try await ProcessRunner.run(spec)
        #expect(outcome.ending == .timedOut)
        #expect(outcome.signal == SIGTERM)  // not SIGKILL: SIGTERM reached it (no inherited blocked mask)
        #expect(outcome.exitCode == 128 + SIGTERM)
    }

    @Test func aBareNameNotInPathIsClear() async {
        let (result, _) = await self.run(Array("{\"command\": \"legate-no-such-tool\"}".utf8))
        guard case .failure(let error as TaskError) = result, case .cannotLaunch(_, let reason) = error else {
            Issue.record("expected cannotLaunch, got \(result)")
            return
        }
        #expect(reason.hasPrefix("not found in PATH"))
    }

    // MARK: - Through the runner: cancellation

    @Test func cancelStopsARunningCommandWithSigterm() async {
        let runner = TaskRunner(handlers: TaskHandlerRegistry([ShellTaskHandler()]), capacity: 1)
        let reporter = RecordingReporter()
        runner.assign(assignment("c", type: "shell", payload: self.payload("/bin/sleep", ["300"])), reporter: reporter)
        #expect(await reporter.waitForStarted(1))
        #expect(runner.cancel(taskID: "c", attempt: 1, reason: "operator"))
        let result = await reporter.result(of: "c")
        #expect(result?.outcome == .cancelled)
        #expect(result?.error == "cancelled by the manager: operator")
    }

    @Test func aCommandThatIgnoresSigtermIsKilledAfterTheGrace() async {
        let handler = ShellTaskHandler(terminationGrace: .milliseconds(200))
        let runner = TaskRunner(handlers: TaskHandlerRegistry([handler]), capacity: 1)
        let reporter = RecordingReporter()
        // The trap makes the shell and its child ignore SIGTERM; "ready" says the trap is set.
        let script = "trap '' TERM; echo ready; sleep 300"
        runner.assign(
            assignment("k", type: "shell", payload: self.payload("/bin/sh", ["-c", script])), reporter: reporter)
        #expect(await reporter.reports.wait { reports in
            reports.contains { $0.update?.logChunk == Array("ready\n".utf8) }
        })
        runner.cancel(taskID: "k", attempt: 1, reason: "")
        #expect(await reporter.result(of: "k")?.outcome == .cancelled)
    }

    @Test func cancelKillsTheCommandsChildrenToo() async throws {
        let runner = TaskRunner(handlers: TaskHandlerRegistry([ShellTaskHandler()]), capacity: 1)
        let reporter = RecordingReporter()
        // The shell starts a child in the background, prints its pid and waits for it.
        let script = "sleep 300 & echo $!; wait"
        runner.assign(
            assignment("g", type: "shell", payload: self.payload("/bin/sh", ["-c", script])), reporter: reporter)
        #expect(await reporter.reports.wait { reports in reports.contains { $0.update?.logChunk.isEmpty == false } })
        let line = reporter.updates.flatMap(\.logChunk)
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try #require(Int32(text))
        runner.cancel(taskID: "g", attempt: 1, reason: "")
        #expect(await reporter.result(of: "g")?.outcome == .cancelled)
        // The child got SIGTERM with its group; give the kernel a bounded moment to finish it.
        let deadline = ContinuousClock.now + .seconds(5)
        while Self.isAlive(child), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!Self.isAlive(child))
    }

    @Test func aChildLeftRunningDoesNotHoldTheResultAndIsKilled() async throws {
        // Without the exit waiter, Foundation would report the end only when the 30 s sleep ends.
        let spec = ProcessSpec(command: "/bin/sh", arguments: ["-c", "sleep 30 & echo $!"])
        let outcome = try await ProcessRunner.run(spec)
        #expect(outcome.ending == .exited)
        #expect(outcome.exitCode == 0)
        let text = String(decoding: outcome.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try #require(Int32(text))
        let deadline = ContinuousClock.now + .seconds(5)
        while Self.isAlive(child), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!Self.isAlive(child))
    }

    /// True while `pid` exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    @Test func theAssignmentTimeoutKillsAShellTask() async {
        let runner = TaskRunner(handlers: TaskHandlerRegistry([ShellTaskHandler()]), capacity: 1)
        let reporter = RecordingReporter()
        runner.assign(
            assignment("t", type: "shell", payload: self.payload("/bin/sleep", ["30"]), timeoutMs: 100),
            reporter: reporter)
        let result = await reporter.result(of: "t")
        #expect(result?.outcome == .timedOut)
    }
}
