import Foundation
import LegateManager
import LegateTestSupport
import Testing

/// The command-line conventions of `legatectl` (and the other executables), run against the built binaries.
@Suite(.serialized) struct LegatectlConventionTests {
    let cli = ExecutableRunner(name: "legatectl")

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func helpAndVersionAtEveryLevelPrintOnlyThatLevel()
        throws
    {
        let noun = try self.cli.run(["token", "--help"])
        #expect(noun.status == 0)
        #expect(noun.output.contains("token create") && noun.output.contains("token rotate"))
        #expect(!noun.output.contains("task submit") && !noun.output.contains("jwt verify"))
        let command = try self.cli.run(["token", "create", "--help"])
        #expect(command.status == 0 && command.output.contains("token create --name NAME"))
        #expect(!command.output.contains("token list") && !command.output.contains("token rotate"))
        #expect(try self.cli.run(["task", "submit", "-h"]).output.contains("--wait-timeout"))
        let top = try self.cli.run(["-h"])
        #expect(top.status == 0 && top.output.contains("nouns:") && !top.output.contains("--payload"))
        for words in [["--version"], ["token", "--version"], ["task", "submit", "--version"]] {
            let version = try self.cli.run(words)
            #expect(version.status == 0 && version.output.hasPrefix("legatectl 0."))
        }
        for name in ["legate-manager", "legate-delegate", "legate-load"] where ExecutableRunner.path(name) != nil {
            let runner = ExecutableRunner(name: name)
            #expect(try runner.run(["--version"]).output.hasPrefix("\(name) 0."))
            let help = try runner.run(["-h"])
            #expect(help.status == 0 && help.output.contains("usage: \(name)"))
        }
    }

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func wrongInputIsAUsageErrorWithOneLineAndTheUsage()
        throws
    {
        let caFile = NSTemporaryDirectory() + "legate-ca-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: caFile, contents: Data("not a certificate\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: caFile) }
        // Port 1 refuses connections: anything that got past the checks would exit 3, not 2.
        let environment = ["LEGATE_MANAGER": "127.0.0.1:1", "LEGATE_CA_FILE": caFile, "LEGATE_ADMIN_KEY": "lak_x"]
        let otherTool = try self.cli.run(["token", "list", "-o", "json"], environment: environment)
        #expect(otherTool.status == 2)
        #expect(otherTool.error.hasPrefix("legatectl: unknown option -o"))
        // One line, then only this command's usage.
        #expect(otherTool.error.contains("token list") && !otherTool.error.contains("token create"))
        #expect(otherTool.error.split(separator: "\n").count < 8)
        #expect(try self.cli.run(["token", "list", "extra"], environment: environment).status == 2)
        #expect(try self.cli.run(["token", "show", "a", "b"], environment: environment).status == 2)
        #expect(try self.cli.run(["task", "get", "tsk_1", "tsk_2"], environment: environment).status == 2)
        #expect(try self.cli.run(["profile", "list", "x"], environment: environment).status == 2)
        // A flag of another command of the same noun would be ignored: refused instead.
        let foreign = try self.cli.run(["token", "list", "--name", "ci"], environment: environment)
        #expect(foreign.status == 2 && foreign.error.contains("--name does not apply to 'token list'"))
        #expect(try self.cli.run(["task", "get", "tsk_1", "--wait"], environment: environment).status == 2)
        for seconds in ["0", "-5"] {
            let expiry = try self.cli.run(
                ["token", "create", "--name", "x", "--expires-in", seconds], environment: environment)
            #expect(expiry.status == 2 && expiry.error.contains("--expires-in must be a positive"))
        }
        var scheme = environment
        scheme["LEGATE_MANAGER"] = "https://manager.example:7443"
        let withScheme = try self.cli.run(["token", "list"], environment: scheme)
        #expect(withScheme.status == 2 && withScheme.error.contains("no scheme"))
        #expect(!withScheme.error.contains("7443:7443"))
        var missingCA = environment
        missingCA["LEGATE_CA_FILE"] = "/nonexistent/ca.pem"
        let noCA = try self.cli.run(["token", "list"], environment: missingCA)
        #expect(noCA.status == 2 && noCA.error.contains("/nonexistent/ca.pem does not exist"))
        let unknown = try self.cli.run(["tokens", "list"], environment: environment)
        #expect(unknown.status == 2 && unknown.error.contains("unknown command 'tokens list'"))
        if ExecutableRunner.path("legate-delegate") != nil {
            let delegate = try ExecutableRunner(name: "legate-delegate").run(
                [], environment: [
                    "LEGATE_MANAGER": "https://m:7443", "LEGATE_ACCOUNT_ID": "acc_1", "LEGATE_DELEGATE_TOKEN": "x",
                    "LEGATE_CA_FILE": caFile,
                ])
            #expect(delegate.status == 2)
        }
    }

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func namesWorkWhereIdsDoAndExpiredTokensSayExpired()
        throws
    {
        let clock = ManualClock()
        let harness = try ManagerHarness(clock: clock)
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
        #expect(try self.cli.run(["token", "create", "--name", "short", "--expires-in", "60"], environment: environment)
            .status == 0)
        #expect(try self.cli.run(["token", "create", "--name", "manual"], environment: environment).status == 0)
        let byName = try self.cli.run(["token", "show", "short", "--json"], environment: environment)
        #expect(byName.status == 0 && byName.output.contains("\"name\" : \"short\""))
        #expect(try self.cli.run(["token", "revoke", "manual"], environment: environment).status == 0)
        clock.advance(by: .seconds(61))
        harness.manager.sweep()
        let list = try self.cli.run(["token", "list", "--json"], environment: environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [String: Any])
        let tokens = try #require(object["tokens"] as? [[String: Any]])
        let status = Dictionary(
            uniqueKeysWithValues: tokens.map { ($0["name"] as? String ?? "", $0["status"] as? String ?? "") })
        #expect(status["short"] == "expired")
        #expect(status["manual"] == "revoked")
        #expect(status["default"] == "active")
        // Names are unique per account: a second token of one name is refused, so a name never guesses.
        #expect(try self.cli.run(["token", "create", "--name", "short"], environment: environment).status == 1)
    }
}
