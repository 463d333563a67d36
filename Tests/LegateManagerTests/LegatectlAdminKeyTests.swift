import Foundation
import LegateManager
import LegateNet
import LegateTestSupport
import Testing

/// Admin keys managed like tokens through `legatectl admin-key`, and the offline recovery key of
/// `legate-manager admin-key create --data-dir`.
@Suite(.serialized) struct LegatectlAdminKeyTests {
    let cli = ExecutableRunner(name: "legatectl")

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func createListRevokeAndExpiry() throws {
        let clock = ManualClock()
        let harness = try ManagerHarness(clock: clock)
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
        let created = try self.cli.run(
            ["admin-key", "create", "--name", "ci", "--permissions", "task:view,task:submit", "--json"],
            environment: environment)
        #expect(created.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(created.output.utf8)) as? [String: Any])
        let value = try #require(object["value"] as? String)
        #expect(value.hasPrefix("lak_"))
        let key = try #require(object["key"] as? [String: Any])
        #expect(key["permissions"] as? [String] == ["task:view", "task:submit"])
        #expect(key["status"] as? String == "active")
        var asCI = environment
        asCI["LEGATE_ADMIN_KEY"] = value
        #expect(try self.cli.run(["task", "list"], environment: asCI).status == 0)
        // Its permissions hold: no token calls, no admin key calls.
        #expect(try self.cli.run(["token", "list"], environment: asCI).status == 1)
        #expect(try self.cli.run(["admin-key", "list"], environment: asCI).status == 1)

        let list = try self.cli.run(["admin-key", "list"], environment: environment)
        #expect(list.status == 0 && list.output.contains("bootstrap") && list.output.contains("ci"))
        #expect(!list.output.contains(value))  // the value is shown once, never listed
        #expect(try self.cli.run(["admin-key", "revoke", "ci"], environment: environment).status == 0)
        let refused = try self.cli.run(["task", "list"], environment: asCI)
        #expect(refused.status == 1 && refused.error.contains("is revoked"))
        #expect(!refused.error.contains(value))

        let expiring = try self.cli.run(
            ["admin-key", "create", "--name", "hour", "--permissions", "task:view", "--expires-in", "3600"],
            environment: environment)
        let hourValue = try #require(expiring.output.split(separator: "\n").last.map(String.init))
        var asHour = environment
        asHour["LEGATE_ADMIN_KEY"] = hourValue
        #expect(try self.cli.run(["task", "list"], environment: asHour).status == 0)
        clock.advance(by: .seconds(3601))
        let expired = try self.cli.run(["task", "list"], environment: asHour)
        #expect(expired.status == 1 && expired.error.contains("is expired"))
        let statuses = try self.cli.run(["admin-key", "list"], environment: environment).output
        #expect(statuses.contains("revoked") && statuses.contains("expired"))
        #expect(
            try self.cli.run(
                ["admin-key", "create", "--name", "x", "--permissions", "task:fly"], environment: environment
            ).status == 2)
        let audit = try self.cli.run(["audit", "list", "--limit", "500"], environment: environment).output
        #expect(audit.contains("admin-key.create") && audit.contains("admin-key.revoke"))
    }

    @Test(.enabled(if: ExecutableRunner.path("legate-manager") != nil && ExecutableRunner.path("legatectl") != nil))
    func offlineRecoveryKeyWorksAndIsAudited() throws {
        let harness = try ManagerHarness()
        let recovery = try ExecutableRunner(name: "legate-manager").run(
            ["admin-key", "create", "--data-dir", harness.dataDirectory, "--name", "lost-keys"])
        #expect(recovery.status == 0)
        let value = try #require(recovery.output.split(separator: " ").last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        })
        #expect(value.hasPrefix("lak_"))
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile, "LEGATE_ADMIN_KEY": value,
        ]
        let audit = try self.cli.run(["audit", "list", "--limit", "500"], environment: environment)
        #expect(audit.status == 0)
        #expect(audit.output.contains("admin-key.create") && audit.output.contains("local:data-dir"))
        let missing = try ExecutableRunner(name: "legate-manager").run(
            ["admin-key", "create", "--data-dir", harness.dataDirectory + "-missing"])
        #expect(missing.status == 1 && missing.error.contains("holds no manager database"))
        #expect(try ExecutableRunner(name: "legate-manager").run(["admin-key", "create"]).status == 2)
    }

    @Test func aFirstStartOnABusyPortCreatesNothingShownOnce() throws {
        let busy = try ManagerHarness()
        let directory = NSTemporaryDirectory() + "legate-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ManagerConfiguration.defaults
        configuration.dataDirectory = directory
        configuration.port = busy.port
        #expect(throws: ManagerError.self) {
            try Manager.start(configuration: configuration, log: InMemoryLogSink(), clock: SystemClock())
        }
        configuration.port = 0
        let manager = try Manager.start(configuration: configuration, log: InMemoryLogSink(), clock: SystemClock())
        defer { manager.shutdown() }
        #expect(manager.report.isFirstStart)
        #expect(manager.report.newAdminKeyValue != nil && manager.report.newDefaultTokenValue != nil)
    }
}
