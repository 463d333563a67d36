import Foundation
import LegateTestSupport
import Testing

/// The manager process never holds a secret's value: with the real `legate-manager` binary as a child process, a
/// shell task opens a secret on a real delegate, then the manager's memory (every readable mapping, through
/// `/proc/PID/maps` and `/proc/PID/mem`), its log and its database files are searched for the value.
@Suite(.serialized) struct SecretsManagerMemoryTests {
    @Test(.enabled(if: KilledManagerTests.binariesBuilt && DelegateProcess.isBuilt))
    func theValueIsNowhereInTheManagersMemoryLogOrDatabase() throws {
        let directory = NSTemporaryDirectory() + "legate-memory-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logPath = directory + "/manager.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let manager = try KilledManagerTests.ManagerProcess(
            dataDirectory: directory + "/data", logLevel: "debug",
            standardError: try FileHandle(forWritingTo: URL(fileURLWithPath: logPath)))
        defer { manager.kill() }
        let admin = try manager.adminEnvironment()
        let accountID = try #require(manager.value(after: "  account id: "))
        let token = try #require(manager.value(after: "  default delegate token (shown once, store it now): "))
        let delegate = try DelegateProcess(
            environment: [
                "LEGATE_MANAGER": admin["LEGATE_MANAGER"] ?? "", "LEGATE_ACCOUNT_ID": accountID,
                "LEGATE_DELEGATE_TOKEN": token, "LEGATE_CA_FILE": admin["LEGATE_CA_FILE"] ?? "",
                "LEGATE_SERVER_NAME": "localhost", "LEGATE_TASK_TYPES": "shell", "LEGATE_DELEGATE_NAME": "member",
                "LEGATE_TAGS": "vault", "LEGATE_DELEGATE_STATE_DIR": directory + "/state",
            ],
            logPath: directory + "/delegate.log")
        defer { kill(delegate.process.processIdentifier, SIGTERM) }
        let cli = LegatectlTests()
        #expect(eventually(timeout: .seconds(20)) {
            (try? cli.run(["delegate", "list"], environment: admin))?.output.contains("member") ?? false
        })
        #expect(try cli.run(["keyring", "create", "prod", "--members", "tags=vault"], environment: admin).status == 0)
        let value = "mem-probe-" + UUID().uuidString
        let valueFile = directory + "/value"
        try Data(value.utf8).write(to: URL(fileURLWithPath: valueFile))
        #expect(try cli.run(["secret", "create", "db", "--keyring", "prod", "--value-file", valueFile],
            environment: admin).status == 0)
        try FileManager.default.removeItem(atPath: valueFile)
        let payload = #"{"command": "/bin/sh", "arguments": ["-c", "echo \"value=$DB\""]}"#
        let ran = try cli.run(
            ["task", "submit", "--type", "shell", "--payload", payload, "--secret", "DB=db", "--wait"],
            environment: admin)
        #expect(ran.status == 0 && ran.output.contains("value=***"), "\(ran.output)\n\(delegate.log)")

        let needle = Data(value.utf8)
        let pid = manager.process.processIdentifier
        let scanned = try Self.scanMemory(pid: pid, for: needle)
        #expect(scanned.bytes > 1 << 20, "the scan read \(scanned.bytes) bytes of the manager's memory")
        #expect(scanned.found.isEmpty, "the value is in the manager's memory at \(scanned.found)")
        // The scan does find what the manager holds (an audit action it wrote), as a control.
        #expect(!(try Self.scanMemory(pid: pid, for: Data("keyring.create".utf8)).found.isEmpty))
        let log = FileManager.default.contents(atPath: logPath) ?? Data()
        #expect(!log.isEmpty && log.range(of: needle) == nil)
        for name in ["legate.db", "legate.db-wal"] {
            let file = FileManager.default.contents(atPath: directory + "/data/" + name) ?? Data()
            #expect(file.range(of: needle) == nil, "\(name) holds the value")
        }
    }

    /// Reads every readable mapping of `pid` and returns how many bytes were read and the mappings holding
    /// `needle` (chunks overlap by the needle's length, so a match across a chunk boundary is found).
    static func scanMemory(pid: Int32, for needle: Data) throws -> (bytes: Int, found: [String]) {
        let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
        let memory = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/mem"))
        defer { try? memory.close() }
        var total = 0
        var found: [String] = []
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("r"), !line.hasSuffix("[vvar]"), !line.hasSuffix("[vsyscall]")
            else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            guard bounds.count == 2 else { continue }
            var offset = bounds[0]
            let chunk: UInt64 = 4 << 20
            while offset < bounds[1] {
                let length = Int(min(chunk + UInt64(needle.count), bounds[1] - offset))
                guard (try? memory.seek(toOffset: offset)) != nil,
                    let data = try? memory.read(upToCount: length), !data.isEmpty
                else { break }
                total += data.count
                if data.range(of: needle) != nil { found.append(String(line)) }
                offset += chunk
            }
        }
        return (total, found)
    }
}
