import Foundation
import LegateDelegate
import LegateManager
import LegateTestSupport
import Testing

/// `legatectl task ...` against a real manager and a real delegate running echo and shell.
@Suite(.serialized) struct LegatectlTaskTests {
    @Test(.enabled(if: LegatectlTests.binary != nil)) func submitWaitGetListLogsAndCancel() throws {
        let harness = try ManagerHarness()
        let cli = LegatectlTests()
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
        let (delegate, _, _) = try TaskDispatchTests.delegate(
            harness, name: "cli-worker", builtIns: ["echo", "shell"], tags: ["linux"])
        defer { delegate.stop() }
        #expect(eventually { harness.manager.connectedDelegates == 1 })

        let echoed = try cli.run(
            ["task", "submit", "--type", "echo", "--payload", "hello", "--wait", "--json"], environment: environment)
        #expect(echoed.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(echoed.output.utf8)) as? [String: Any])
        #expect(object["state"] as? String == "succeeded")
        #expect(object["output"] as? String == "hello")
        let id = try #require(object["id"] as? String)

        let shell = #"{"command": "/bin/sh", "arguments": ["-c", "echo out; exit 3"]}"#
        let failed = try cli.run(
            ["task", "submit", "--type", "shell", "--selectors", "linux", "--payload", shell, "--wait"],
            environment: environment)
        #expect(failed.status == 1)  // the task did not succeed
        #expect(failed.output.contains("failed") && failed.output.contains("exit code: 3"))

        let get = try cli.run(["task", "get", id], environment: environment)
        #expect(get.status == 0 && get.output.contains("succeeded") && get.output.contains("hello"))
        let list = try cli.run(["task", "list", "--state", "succeeded"], environment: environment)
        #expect(list.status == 0 && list.output.contains(id) && list.output.contains("WAITING/ERROR"))
        #expect(try cli.run(["task", "logs", id], environment: environment).status == 0)

        let waiting = try cli.run(["task", "submit", "--type", "gpu-job"], environment: environment)
        #expect(waiting.status == 0)
        let waitingID = waiting.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let queued = try cli.run(["task", "list", "--state", "queued"], environment: environment)
        #expect(queued.output.contains("no connected active delegate supports task type 'gpu-job'"))
        let cancelled = try cli.run(["task", "cancel", waitingID, "--reason", "typo"], environment: environment)
        #expect(cancelled.status == 0 && cancelled.output.contains("cancelled \(waitingID)"))
        #expect(try cli.run(["task", "get", "tsk_missing"], environment: environment).status == 1)
        #expect(try cli.run(["task", "list", "--state", "sleeping"], environment: environment).status == 2)
        #expect(try cli.run(["task", "submit"], environment: environment).status == 2)  // --type is required
    }
}
