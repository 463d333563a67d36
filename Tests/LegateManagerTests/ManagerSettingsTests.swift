import Foundation
import Testing

/// `legate-manager` settings come from flags, `LEGATE_*` environment variables and a `--config` file, in that
/// order of precedence; a file's unknown key is refused with its line number.
@Suite struct ManagerSettingsTests {
    let manager = ExecutableRunner(name: "legate-manager")

    /// A configuration file holding `text`, removed by the caller.
    func configFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "legate-manager-" + UUID().uuidString + ".conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(.enabled(if: ExecutableRunner.path("legate-manager") != nil))
    func aFlagWinsOverTheEnvironmentWhichWinsOverTheFile() throws {
        let path = try self.configFile("# retention\n\naudit_retention_days = -5\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Each layer names an invalid value, so the error says which layer won, and nothing starts.
        let fromFile = try self.manager.run(["--config", path])
        #expect(fromFile.status == 2)
        #expect(fromFile.error.contains("--audit-retention-days") && fromFile.error.contains("-5"))
        let fromEnvironment = try self.manager.run(
            ["--config", path], environment: ["LEGATE_AUDIT_RETENTION_DAYS": "-3"])
        #expect(fromEnvironment.status == 2 && fromEnvironment.error.contains("-3"))
        let fromFlag = try self.manager.run(
            ["--config", path, "--audit-retention-days", "-7"], environment: ["LEGATE_AUDIT_RETENTION_DAYS": "-3"])
        #expect(fromFlag.status == 2 && fromFlag.error.contains("-7") && !fromFlag.error.contains("-3"))
        // LEGATE_CONFIG names the file when the flag is absent.
        let fromVariable = try self.manager.run([], environment: ["LEGATE_CONFIG": path])
        #expect(fromVariable.status == 2 && fromVariable.error.contains("-5"))
    }

    @Test(.enabled(if: ExecutableRunner.path("legate-manager") != nil))
    func switchesComeFromTheEnvironmentToo() throws {
        let result = try self.manager.run([], environment: ["LEGATE_HTTP_PLAIN": "true"])
        #expect(result.status == 2, "--http-plain from the environment needs --http-port as well")
        #expect(result.error.contains("--http-port"))
    }

    @Test(.enabled(if: ExecutableRunner.path("legate-manager") != nil))
    func unknownKeysAndUnreadableFilesAreUsageErrors() throws {
        let path = try self.configFile("port = 0\ndata_dri = /tmp/x\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let unknown = try self.manager.run(["--config", path])
        #expect(unknown.status == 2)
        #expect(unknown.error.contains("line 2") && unknown.error.contains("unknown key 'data_dri'"))
        let missing = try self.manager.run(["--config", "/nonexistent/legate.conf"])
        #expect(missing.status == 2 && missing.error.contains("--config"))
    }
}
