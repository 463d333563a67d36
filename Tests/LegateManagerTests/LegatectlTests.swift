import Foundation
import LegateManager
import LegateTestSupport
import Testing

/// Runs the built `legatectl` against a real manager: exit codes and `--json` output scripts rely on.
@Suite(.serialized) struct LegatectlTests {
    /// `.build/debug/legatectl` next to this package (built by `swift build --build-tests`).
    static let binary: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let path = url.appendingPathComponent(".build/debug/legatectl").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let binary = try #require(Self.binary, "build legatectl first (swift build --build-tests)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: LegatectlTests.binary != nil)) func commandsExitCodesAndJSON() throws {
        let harness = try ManagerHarness()
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
        let created = try self.run(["token", "create", "--name", "cli", "--json"], environment: environment)
        #expect(created.status == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(created.output.utf8)) as? [String: Any])
        let token = try #require(object["token"] as? [String: Any])
        let id = try #require(token["id"] as? String)
        #expect((object["value"] as? String)?.hasPrefix("lgt_") == true)

        let list = try self.run(["token", "list"], environment: environment)
        #expect(list.status == 0 && list.output.contains("cli") && list.output.contains("DELEGATES"))
        #expect(try self.run(["token", "delete", id], environment: environment).status == 1)
        let revoke = try self.run(["token", "revoke", id, "--json"], environment: environment)
        #expect(revoke.status == 0 && revoke.output.contains("\"acknowledged\" : 0"))
        #expect(try self.run(["token", "delete", id], environment: environment).status == 0)
        #expect(try self.run(["token", "show", id], environment: environment).status == 1)
        #expect(try self.run(["audit", "list"], environment: environment).output.contains("token.delete"))
        #expect(try self.run(["token", "frobnicate"], environment: environment).status == 2)
        let scoped = try self.run(["token", "create", "--name", "cli", "--scope", "org/acme"], environment: environment)
        #expect(scoped.status == 0 && scoped.output.contains("in scope org/acme"))
        let scopedList = try self.run(["token", "list"], environment: environment)
        #expect(scopedList.output.contains("SCOPE") && scopedList.output.contains("org/acme"))
        let badScope = ["token", "create", "--name", "x", "--scope", "org/Acme"]
        #expect(try self.run(badScope, environment: environment).status == 2)
        var noKey = environment
        noKey["LEGATE_ADMIN_KEY"] = nil
        #expect(try self.run(["token", "list"], environment: noKey).status == 2)
        var wrongPort = environment
        wrongPort["LEGATE_MANAGER"] = "127.0.0.1:1"
        #expect(try self.run(["token", "list"], environment: wrongPort).status == 3)
    }
}
