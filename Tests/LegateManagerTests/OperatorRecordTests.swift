import Foundation
import LegateManager
import LegateTestSupport
import Testing

/// What an operator reads and changes with the built executables: admin key expiry checked before any call,
/// audit filters, a deleted delegate's record, and a delegate given no CA file trusting only the system store.
@Suite(.serialized) struct OperatorRecordTests {
    let cli = ExecutableRunner(name: "legatectl")

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func adminKeyExpiryMustBePositive() throws {
        // Port 1 refuses connections: a value that got past the check would exit 3, not 2.
        let environment = ["LEGATE_MANAGER": "127.0.0.1:1", "LEGATE_ADMIN_KEY": "lak_x"]
        for seconds in ["0", "-5", "soon"] {
            let refused = try self.cli.run(
                ["admin-key", "create", "--name", "k", "--permissions", "task:view", "--expires-in", seconds],
                environment: environment)
            #expect(refused.status == 2, "\(seconds): \(refused.error)")
            #expect(refused.error.hasPrefix("legatectl: --expires-in"), "\(refused.error)")
        }
    }

    @Test(.enabled(if: DelegateProcess.isBuilt && ExecutableRunner.path("legate-load") != nil))
    func aMissingCAFileOrAnAddressWithASchemeIsAUsageErrorForTheDelegateAndTheLoadTool() throws {
        let token = try self.cli.run(["token", "new"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let base = ["LEGATE_MANAGER": "127.0.0.1:1", "LEGATE_ACCOUNT_ID": "acc_1", "LEGATE_DELEGATE_TOKEN": token]
        for name in ["legate-delegate", "legate-load"] {
            let runner = ExecutableRunner(name: name)
            var missingCA = base
            missingCA["LEGATE_CA_FILE"] = "/nonexistent/ca.pem"
            let noCA = try runner.run(["--name", "x"].filter { _ in name == "legate-delegate" }, environment: missingCA)
            #expect(noCA.status == 2 && noCA.error.contains("/nonexistent/ca.pem"), "\(name): \(noCA.error)")
            var scheme = base
            scheme["LEGATE_MANAGER"] = "https://127.0.0.1:1"
            let withScheme = try runner.run([], environment: scheme)
            #expect(withScheme.status == 2 && withScheme.error.contains("https://127.0.0.1:1"), "\(name)")
        }
    }

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func auditFiltersFromTheCommandLine() throws {
        let harness = try ManagerHarness()
        let environment = LegatectlWaitTests.environment(harness)
        #expect(try self.cli.run(["token", "create", "--name", "audited"], environment: environment).status == 0)
        #expect(try self.cli.run(["profile", "create", "--name", "audited"], environment: environment).status == 0)

        func actions(_ filters: [String]) throws -> [String] {
            let result = try self.cli.run(["audit", "list", "--json"] + filters, environment: environment)
            #expect(result.status == 0, "\(filters): \(result.error)")
            let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
            let entries = object?["entries"] as? [[String: Any]] ?? []
            return entries.compactMap { $0["action"] as? String }
        }
        #expect(try actions(["--action", "token.create"]) == ["token.create"])
        let prefixed = try actions(["--action", "profile.*"])
        #expect(prefixed.count == 2 && prefixed.allSatisfy { $0 == "profile.create" }, "the default and audited")
        let bySystem = try actions(["--actor", "system"])
        #expect(bySystem.contains("account.create") && !bySystem.contains("token.create"))
        #expect(try actions(["--since", "1h"]).contains("token.create"))
        #expect(try actions(["--until", "1h"]).isEmpty, "nothing is older than an hour")
        #expect(try self.cli.run(["audit", "list", "--until", "yesterday"], environment: environment).status == 2)
    }

    @Test(.enabled(if: DelegateProcess.isBuilt && ExecutableRunner.path("legatectl") != nil))
    func aDeletedDelegateIsToldAndLeavesNoRecord() throws {
        let harness = try ManagerHarness()
        let directory = try DelegateStopTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environment = DelegateStopTests.environment(harness, drainTimeout: "1")
        environment["LEGATE_DELEGATE_NAME"] = "to-delete"
        let delegate = try DelegateProcess(environment: environment, logPath: directory + "/delegate.log")
        #expect(eventually { delegate.log.contains("registered") }, "\(delegate.log)")
        let admin = LegatectlWaitTests.environment(harness)
        let deleted = try self.cli.run(["delegate", "delete", "to-delete"], environment: admin)
        #expect(deleted.status == 0, "\(deleted.error)")
        #expect(delegate.waitForExit(timeout: .seconds(20)) == 3, "\(delegate.log)")
        #expect(delegate.log.contains("deleted by an administrator"))
        let list = try self.cli.run(["delegate", "list"], environment: admin)
        #expect(!list.output.contains("to-delete"), "no disconnected record is left behind: \(list.output)")
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func withoutACAFileTheDelegateTrustsOnlyTheSystemStore() throws {
        let harness = try ManagerHarness()
        let directory = try DelegateStopTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environment = DelegateStopTests.environment(harness, drainTimeout: "1")
        environment["LEGATE_CA_FILE"] = nil
        let delegate = try DelegateProcess(environment: environment, logPath: directory + "/delegate.log")
        // The development CA is in no system store: the handshake is refused with the fix named, and retried.
        #expect(eventually { delegate.log.contains("peer certificate rejected") }, "\(delegate.log)")
        #expect(delegate.log.contains("check the CA file"))
        #expect(!delegate.log.contains("registered"))
        kill(delegate.process.processIdentifier, SIGTERM)
        #expect(delegate.waitForExit(timeout: .seconds(20)) == 0, "\(delegate.log)")
    }
}
