import Foundation
import LegateDelegate
import LegateManager
import LegateTestSupport
import Testing

/// `legatectl profile ...` and `legatectl delegate pending|approve|reject|delete` against a real manager.
@Suite(.serialized) struct LegatectlApprovalTests {
    @Test(.enabled(if: LegatectlTests.binary != nil)) func profilesAndApprovalFromTheCommandLine() throws {
        let harness = try ManagerHarness()
        let cli = LegatectlTests()
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
        func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try cli.run(arguments, environment: environment)
        }
        let created = try run([
            "profile", "create", "--name", "gated", "--requires-approval", "true",
            "--auto-approve", "cidr=10.0.0.0/8&host=ci-*;token=tok_never", "--json",
        ])
        #expect(created.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(created.output.utf8)) as? [String: Any])
        #expect(object["name"] as? String == "gated" && object["requires_approval"] as? Bool == true)
        #expect(object["auto_approve"] as? [String] == ["cidr=10.0.0.0/8&host=ci-*", "token=tok_never"])
        let list = try run(["profile", "list"])
        #expect(list.status == 0 && list.output.contains("gated") && list.output.contains("required"))
        #expect(list.output.contains("default"))
        #expect(try run(["profile", "create", "--name", "x", "--auto-approve", "cidr=10.0.0.0/33"]).status == 2)
        #expect(try run(["profile", "create", "--name", "gated"]).status == 1, "exists already")
        let updated = try run(["profile", "update", "gated", "--no-auto-approve", "--json"])
        #expect(updated.status == 0 && updated.output.contains("\"auto_approve\" : [\n\n  ]"))

        var configuration = harness.delegateConfiguration(name: "cli-pending")
        configuration.profile = "gated"
        let (client, events) = try harness.startDelegate(configuration)
        defer { client.stop() }
        let id = try #require(events.first(where: \.isRegistered)?.registeredID)
        let pending = try run(["delegate", "pending"])
        #expect(pending.status == 0 && pending.output.contains(id) && pending.output.contains("EXPIRES"))
        #expect(try run(["delegate", "reject", id]).status == 2, "a rejection needs a reason")
        #expect(try run(["delegate", "approve", id, "--profile", "gated"]).status == 2, "one way only")
        let approved = try run(["delegate", "approve", id])
        #expect(approved.status == 0 && approved.output.contains("approved 1 delegate(s), 1 told"))
        #expect(events.first(where: { $0 == .approvalDecided(approved: true, reason: "") }) != nil)
        #expect(try run(["delegate", "approve", id]).status == 1, "nothing left to approve")
        let delegates = try run(["delegate", "list"])
        #expect(delegates.output.contains("PROFILE") && delegates.output.contains("gated"))
        #expect(delegates.output.contains("active") && delegates.output.contains("LAST HEARTBEAT"))
        #expect(try run(["profile", "delete", "gated"]).status == 1, "in use")
        #expect(try run(["delegate", "delete", id]).status == 0)
        #expect(try run(["profile", "delete", "gated"]).status == 0)
        #expect(try run(["profile", "delete", "default"]).status == 1)
        #expect(try run(["audit", "list"]).output.contains("delegate.approve"))
    }
}
