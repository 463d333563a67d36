import Foundation
import LegateAdminClient
import LegateDelegate
import LegateManager
import LegateTestSupport
import LegateWire
import Testing

/// Waits that wait: `task submit --wait`, `task wait`, `task logs --follow`, and what submit checks at once.
@Suite(.serialized) struct LegatectlWaitTests {
    let cli = ExecutableRunner(name: "legatectl")

    static func environment(_ harness: ManagerHarness) -> [String: String] {
        [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
    }

    @Test func aLongPollOutlastsTheClientsCallDeadline() throws {
        let harness = try ManagerHarness()
        let client = try AdminClient.connect(
            host: "127.0.0.1", port: harness.port, caFile: harness.caFile, serverName: "localhost",
            apiKey: harness.manager.report.newAdminKeyValue ?? "", loop: harness.group.next(),
            timeout: .seconds(1))
        defer { client.close() }
        var spec = TaskSpec()
        spec.type = "nobody-runs-this"
        let submitted = try client.submit(spec)
        #expect(submitted.warnings.count == 1)
        #expect(submitted.warnings.first?.contains("ever announced task type 'nobody-runs-this'") == true)
        // The manager holds this call for two seconds, well past the 1 s deadline of ordinary calls.
        let waited = try client.waitForTasks(ids: [submitted.task.id], timeoutMs: 2000)
        #expect(waited.first?.state == .queued)
        let bounded = try client.waitForTask(id: submitted.task.id, timeout: .milliseconds(1500))
        #expect(bounded.state == .queued)
    }

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func submitWaitPrintsTheIdFirstAndTimesOutWithTheReason()
        throws
    {
        let harness = try ManagerHarness()
        let environment = Self.environment(harness)
        let waited = try self.cli.run(
            ["task", "submit", "--type", "gpu-job", "--wait", "--wait-timeout", "0.5"], environment: environment)
        #expect(waited.status == 1)
        let firstLine = waited.output.split(separator: "\n").first.map(String.init) ?? ""
        #expect(firstLine.hasPrefix("submitted tsk_"))
        let id = String(firstLine.dropFirst("submitted ".count))
        #expect(waited.output.contains("queued"))
        #expect(waited.error.contains("has not ended within --wait-timeout"))
        #expect(waited.error.contains("waiting: no connected active delegate supports task type 'gpu-job'"))
        #expect(waited.error.contains("warning: no delegate of this account has ever announced task type 'gpu-job'"))
        #expect(!waited.error.contains("no answer within"))
        let again = try self.cli.run(["task", "wait", id, "--wait-timeout", "0.2", "--json"], environment: environment)
        #expect(again.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(again.output.utf8)) as? [String: Any])
        #expect(object["state"] as? String == "queued")
        #expect(try self.cli.run(["task", "wait", id, "--wait-timeout", "soon"], environment: environment).status == 2)
    }

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func shellPayloadsAreCheckedAtSubmit() throws {
        let harness = try ManagerHarness()
        let environment = Self.environment(harness)
        let cases = [
            ("uname -a", "not JSON"), (#"["ls"]"#, "not a JSON object"), (#"{"cmd": "ls"}"#, "unknown field \"cmd\""),
            (#"{"command": ""}"#, "needs \"command\""), (#"{"command": "ls", "arguments": "-l"}"#, "array of strings"),
            (#"{"command": "ls", "timeoutMs": -1}"#, "timeoutMs"), (#"{"command": "ls", "timeoutMs": true}"#, "timeoutMs"),
        ]
        for (payload, reason) in cases {
            let refused = try self.cli.run(
                ["task", "submit", "--type", "shell", "--payload", payload], environment: environment)
            #expect(refused.status == 1, "\(payload)")
            #expect(refused.error.contains(reason), "\(payload): \(refused.error)")
            #expect(refused.output.isEmpty)
        }
        let valid = #"{"command": "/bin/true", "arguments": [], "environment": {"A": "b"}, "timeoutMs": 1000}"#
        #expect(
            try self.cli.run(["task", "submit", "--type", "shell", "--payload", valid], environment: environment)
                .status == 0)
    }

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func followStreamsUntilTheTaskEndsAndFailuresShowNoZeroExit()
        throws
    {
        let harness = try ManagerHarness()
        let environment = Self.environment(harness)
        let (delegate, _, _) = try TaskDispatchTests.delegate(harness, name: "follower", builtIns: ["echo", "shell"])
        defer { delegate.stop() }
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        let script = #"{"command": "/bin/sh", "arguments": ["-c", "echo first; sleep 0.3; echo last"]}"#
        let submitted = try self.cli.run(
            ["task", "submit", "--type", "shell", "--payload", script], environment: environment)
        #expect(submitted.status == 0 && submitted.error.isEmpty)  // shell was announced: no warning
        let id = submitted.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let followed = try self.cli.run(["task", "logs", id, "--follow"], environment: environment)
        #expect(followed.status == 0)
        #expect(followed.output.contains("first") && followed.output.contains("last"))
        let state = try self.cli.run(["task", "get", id], environment: environment)
        #expect(state.output.contains("succeeded"))

        // A command that never starts fails without an exit status of its own.
        let missing = #"{"command": "/nonexistent/legate-test-program"}"#
        let failed = try self.cli.run(
            ["task", "submit", "--type", "shell", "--payload", missing, "--wait"], environment: environment)
        #expect(failed.status == 1)
        #expect(failed.output.contains("failed"))
        #expect(!failed.output.contains("exit code: 0"))
    }
}
