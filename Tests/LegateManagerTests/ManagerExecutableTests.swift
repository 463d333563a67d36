import Foundation
import LegateTestSupport
import Testing

/// The built `legate-manager` as an operator runs it: its subcommands' help, version and usage errors, a backup
/// restored, a first start on a busy port, the banner's delegate command on another loopback address with debug
/// lines, a self-destructed delegate's record, and the systemd units' command lines.
@Suite(.serialized) struct ManagerExecutableTests {
    let manager = ExecutableRunner(name: "legate-manager")
    let cli = ExecutableRunner(name: "legatectl")

    static let managerBuilt = ExecutableRunner.path("legate-manager") != nil
    static let allBuilt = ["legate-manager", "legate-delegate", "legatectl", "legate-load"].allSatisfy {
        ExecutableRunner.path($0) != nil
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "legate-exe-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Sends SIGTERM and waits (bounded) for the exit; the status, nil if it did not exit.
    static func terminate(_ process: Process) -> Int32? {
        process.terminate()
        guard eventually(timeout: .seconds(30), { !process.isRunning }) else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    @Test(.enabled(if: ManagerExecutableTests.allBuilt)) func everyLevelHasHelpVersionAndItsOwnUsage() throws {
        for words in [["backup", "--help"], ["backup", "-h"], ["admin-key", "--help"], ["admin-key", "-h"],
            ["admin-key", "create", "--help"], ["admin-key", "create", "-h"]]
        {
            let help = try self.manager.run(words)
            #expect(help.status == 0, "\(words)")
            #expect(help.output.hasPrefix("usage: legate-manager \(words[0])"), "\(words): \(help.output)")
            #expect(!help.output.contains("--heartbeat-interval"), "\(words) printed the server's page")
        }
        for words in [["backup", "--version"], ["admin-key", "--version"], ["admin-key", "create", "--version"]] {
            let version = try self.manager.run(words)
            #expect(version.status == 0 && version.output.hasPrefix("legate-manager 0."), "\(words)")
        }
        // A usage error: one line, then that command's usage only.
        for words in [["admin-key"], ["admin-key", "rotate"], ["admin-key", "create"], ["admin-key", "create", "-o"],
            ["admin-key", "create", "--data-dir", "d", "extra"], ["backup"], ["backup", "--to", "f", "extra"]]
        {
            let refused = try self.manager.run(words)
            #expect(refused.status == 2, "\(words)")
            #expect(refused.error.hasPrefix("legate-manager \(words[0]): "), "\(words): \(refused.error)")
            #expect(!refused.error.contains("--heartbeat-interval"), "\(words) printed the server's page")
            #expect(refused.error.split(separator: "\n").count < 6, "\(words): \(refused.error)")
            #expect(refused.output.isEmpty)
        }
        // A TLS file that is not there is wrong input (exit 2, which the systemd unit does not restart on).
        for flag in ["--cert", "--key", "--client-ca"] {
            let refused = try self.manager.run([flag, "/nonexistent/legate-\(flag.dropFirst(2)).pem"])
            #expect(refused.status == 2, "\(flag): \(refused.error)")
            #expect(refused.error.contains(flag) && refused.error.contains("a readable file"), "\(refused.error)")
        }
        // Stray words and unknown flags stop every executable before it does anything.
        for (name, words, offending) in [
            ("legate-manager", ["serve"], "serve"), ("legate-manager", ["-o", "json"], "-o"),
            ("legate-delegate", ["run"], "run"), ("legate-delegate", ["--nmae", "x"], "--nmae"),
            ("legate-load", ["now"], "now"), ("legate-load", ["--delegate", "5"], "--delegate"),
            ("legatectl", ["token", "list", "--bogus"], "--bogus")]
        {
            let refused = try ExecutableRunner(name: name).run(words)
            #expect(refused.status == 2 && refused.error.contains(offending), "\(name) \(words): \(refused.error)")
        }
        // Each executable's --help says where settings come from besides flags.
        let delegateHelp = try ExecutableRunner(name: "legate-delegate").run(["--help"]).output
        #expect(delegateHelp.contains("LEGATE_DELEGATE_TOKEN_FILE") && delegateHelp.contains("--config"))
        let managerHelp = try self.manager.run(["--help"]).output
        #expect(managerHelp.contains("LEGATE_DATA_DIR") && managerHelp.contains("--config FILE"))
    }

    @Test(.enabled(if: ManagerExecutableTests.managerBuilt)) func backupOfARunningManagerRestoresIntoANewOne() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let running = try KilledManagerTests.ManagerProcess(dataDirectory: root + "/data")
        let accountID = try #require(running.value(after: "  account id: "))
        let copy = root + "/copy.db"
        let backup = try self.manager.run(["backup", "--to", copy, "--data-dir", root + "/data"])
        #expect(backup.status == 0, "\(backup.error)")
        #expect(backup.output.contains("backup written: \(copy)") && backup.output.contains("master key"))
        let mode = try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let header = FileManager.default.contents(atPath: copy)?.prefix(15) ?? Data()
        #expect(String(decoding: header, as: UTF8.self) == "SQLite format 3")
        let again = try self.manager.run(["backup", "--to", copy, "--data-dir", root + "/data"])
        #expect(again.status == 1 && again.error.contains(copy), "an existing file is never overwritten")
        #expect(Self.terminate(running.process) == 0)

        // Restore as documented: the copy as legate.db beside the master key.
        try FileManager.default.createDirectory(atPath: root + "/restored", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: copy, toPath: root + "/restored/legate.db")
        try FileManager.default.copyItem(atPath: root + "/data/master.key", toPath: root + "/restored/master.key")
        let restored = try KilledManagerTests.ManagerProcess(dataDirectory: root + "/restored")
        #expect(restored.value(after: "  account id: ") == accountID)
        let token = restored.value(after: "  default delegate token: id ")
        #expect(token?.contains("value shown only on first start") == true, "a restored account is no first start")
        #expect(Self.terminate(restored.process) == 0)
    }

    @Test(.enabled(if: ManagerExecutableTests.managerBuilt)) func aFirstStartOnABusyPortCreatesNoCredentials() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let holder = try KilledManagerTests.ManagerProcess(dataDirectory: root + "/holder")
        let address = try #require(running(holder))
        let port = try #require(address.split(separator: ":").last.map(String.init))
        let busy = try self.manager.run(["--port", port, "--data-dir", root + "/data"])
        #expect(busy.status == 1)
        #expect(busy.error.contains(port), "\(busy.error)")
        #expect(!busy.output.contains("lak_") && !busy.output.contains("account id"))
        #expect(Self.terminate(holder.process) == 0)
        let first = try KilledManagerTests.ManagerProcess(dataDirectory: root + "/data")
        #expect(first.value(after: "  bootstrap admin API key (shown once, store it now; all permissions): ") != nil)
        #expect(first.value(after: "  default delegate token (shown once, store it now): ") != nil)
        #expect(Self.terminate(first.process) == 0)
    }

    @Test(.enabled(if: ManagerExecutableTests.managerBuilt))
    func sigtermAsSoonAsTheBannerShowsIsAGracefulStop() throws {
        // A supervisor or script that stops the manager once it has printed its address must get the graceful
        // stop (GOAWAY, store flushed, exit 0), not a kill by the default action or a signal ignored for good.
        for _ in 0..<3 {
            let root = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: root) }
            let started = try KilledManagerTests.ManagerProcess(dataDirectory: root + "/data")
            #expect(started.value(after: "  default delegate token (shown once, store it now): ") != nil)
            #expect(Self.terminate(started.process) == 0)
            #expect(started.process.terminationReason == .exit)
            #expect(started.output.first(timeout: .seconds(5)) { $0.hasPrefix("shutting down") } != nil)
        }
    }

    /// The address a manager's banner reports.
    func running(_ process: KilledManagerTests.ManagerProcess) -> String? {
        process.value(after: "Legate manager listening on ")?.split(separator: " ").first.map(String.init)
    }

    @Test(.enabled(if: ManagerExecutableTests.allBuilt && DelegateProcess.isBuilt))
    func theBannersDelegateCommandWorksOnAnotherLoopbackAddress() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = FileManager.default.createFile(atPath: root + "/manager.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: root + "/manager.log"))
        let running = try KilledManagerTests.ManagerProcess(
            dataDirectory: root + "/data", arguments: ["--host", "127.0.0.2"], logLevel: "debug", standardError: log)
        let admin = try running.adminEnvironment()
        #expect(admin["LEGATE_MANAGER"]?.hasPrefix("127.0.0.2:") == true)
        // The printed command, word for word: VARIABLE=value words, then the binary actually run and its flags.
        let command = try #require(running.output.first(timeout: .seconds(20)) { $0.hasPrefix("  LEGATE_MANAGER=") })
        let words = command.split(separator: " ").map(String.init)
        var environment: [String: String] = [:]
        for word in words.prefix(while: { $0.contains("=") }) {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            environment[parts[0]] = parts[1]
        }
        let binary = try #require(words.first { !$0.contains("=") })
        #expect(binary.hasSuffix("/legate-delegate") && FileManager.default.isExecutableFile(atPath: binary))
        let arguments = Array(words.drop { $0 != binary }.dropFirst())
        #expect(arguments == ["--name", "my-delegate"])
        let delegate = try DelegateProcess(
            environment: environment, arguments: arguments, logPath: root + "/delegate.log")
        #expect(eventually(timeout: .seconds(20)) { delegate.log.contains("registered") }, "\(delegate.log)")

        // Debug lines follow the connection and the registration; values with spaces are quoted.
        let managerLog = { (try? String(contentsOfFile: root + "/manager.log", encoding: .utf8)) ?? "" }
        #expect(eventually { managerLog().contains(" debug connection opened ") }, "\(managerLog())")
        #expect(managerLog().contains(" info delegate registered "))
        let revoke = try self.cli.run(["token", "revoke", "default"], environment: admin)
        #expect(revoke.status == 0, "\(revoke.error)")
        #expect(delegate.waitForExit(timeout: .seconds(20)) == 3, "SELF_DESTRUCT ends the delegate with status 3")
        #expect(eventually { managerLog().range(of: #"reason="[^"]* [^"]*""#, options: .regularExpression) != nil })

        // The record says destroyed, not disconnected, and prune removes it whatever its age.
        let list = try self.cli.run(["delegate", "list", "--json"], environment: admin)
        #expect(list.output.contains("\"destroyed\""), "\(list.output)")
        let prune = try self.cli.run(["delegate", "prune", "--disconnected-for", "24h"], environment: admin)
        #expect(prune.status == 0)
        #expect(!(try self.cli.run(["delegate", "list"], environment: admin).output.contains("my-delegate")))
        // Every call above signed in with one key: one summarised audit row, not one per call.
        let signIns = try self.cli.run(["audit", "list", "--action", "admin.auth", "--json"], environment: admin)
        let object = try JSONSerialization.jsonObject(with: Data(signIns.output.utf8)) as? [String: Any]
        let rows = object?["entries"] as? [Any] ?? []
        #expect(rows.count == 1, "\(signIns.output)")
        #expect(Self.terminate(running.process) == 0)
        try log.close()
    }

    @Test(.enabled(if: ManagerExecutableTests.allBuilt)) func systemdUnitsRunTheBinariesWithFlagsTheyAccept() throws {
        let directory = ReadmeExampleTests.packageRoot + "/tools/systemd"
        for unit in ["legate-manager", "legate-delegate"] {
            let text = try String(contentsOfFile: "\(directory)/\(unit).service", encoding: .utf8)
            let joined = text.replacingOccurrences(of: "\\\n", with: " ")
            let line = try #require(joined.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
            let words = line.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
            #expect(words.first == "/usr/local/bin/\(unit)")
            // Unknown flags would exit 2 before --help is honoured; systemd expands %H and $VARIABLES itself.
            let flags = words.dropFirst().filter { !$0.hasPrefix("$") }.map { $0 == "%H" ? "host" : $0 }
            let result = try ExecutableRunner(name: unit).run(flags + ["--help"])
            #expect(result.status == 0, "\(unit): \(result.error)")
            #expect(text.contains("KillSignal=SIGTERM") && text.contains("Restart=on-failure"))
            try Self.verifyWithSystemd(unit: unit, text: text)
        }
        let delegateUnit = try String(contentsOfFile: "\(directory)/legate-delegate.service", encoding: .utf8)
        #expect(delegateUnit.contains("RestartPreventExitStatus=2 3"), "usage errors and SELF_DESTRUCT are final")
    }

    /// `systemd-analyze verify` on the unit with the built binary in ExecStart, where systemd is installed: every
    /// key known and the unit loadable (it warns, with exit 0, on an unknown key; so no output is the pass).
    static func verifyWithSystemd(unit: String, text: String) throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze), let binary = ExecutableRunner.path(unit) else {
            return
        }
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/\(unit).service"
        try text.replacingOccurrences(of: "/usr/local/bin/\(unit)", with: binary)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = ["verify", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0 && text.isEmpty, "systemd-analyze verify \(unit): \(text)")
    }
}
