import Foundation
import LegateTestSupport
import Testing

/// Two `legate-manager` processes on one throwaway PostgreSQL database, as a fleet: the second starts from a
/// copy of the first's master key and dev certificate (every node of a fleet needs the same ones).
final class TwoManagerFleet: @unchecked Sendable {
    // `@unchecked Sendable`: set up in init, then only read; the processes are killed by the test thread.
    static var isRunnable: Bool { KilledManagerTests.binariesBuilt && DelegateProcess.isBuilt }

    let first: KilledManagerTests.ManagerProcess
    let second: KilledManagerTests.ManagerProcess
    /// `legatectl` settings for each manager.
    let firstEnvironment: [String: String]
    let secondEnvironment: [String: String]
    let firstAddress: String
    let secondAddress: String
    let accountID: String
    let tokenValue: String
    let caFile: String
    private let directories: [String]

    init(lease: Int = 5) throws {
        let url = try PostgreSQLTestCluster.shared().newStoreURL()
        let base = NSTemporaryDirectory() + "legate-fleet-" + UUID().uuidString
        self.directories = [base + "-a", base + "-b"]
        let nodeFlags = ["--store", url, "--node-lease", "\(lease)"]
        self.first = try KilledManagerTests.ManagerProcess(
            dataDirectory: self.directories[0], arguments: nodeFlags + ["--node-id", "node-a"])
        self.firstEnvironment = try self.first.adminEnvironment()
        self.firstAddress = try #require(self.firstEnvironment["LEGATE_MANAGER"])
        self.caFile = try #require(self.firstEnvironment["LEGATE_CA_FILE"])
        self.accountID = try #require(self.first.value(after: "  account id: "))
        self.tokenValue = try #require(self.first.value(after: "  default delegate token (shown once, store it now): "))
        try FileManager.default.createDirectory(
            atPath: self.directories[1], withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        for name in ["master.key", "tls"] {
            try FileManager.default.copyItem(
                atPath: self.directories[0] + "/" + name, toPath: self.directories[1] + "/" + name)
        }
        self.second = try KilledManagerTests.ManagerProcess(
            dataDirectory: self.directories[1], arguments: nodeFlags + ["--node-id", "node-b"])
        self.secondAddress = String(
            try #require(self.second.value(after: "Legate manager listening on ")?.split(separator: " ").first))
        var environment = self.firstEnvironment
        environment["LEGATE_MANAGER"] = self.secondAddress
        self.secondEnvironment = environment
    }

    deinit {
        for manager in [self.first, self.second] where manager.isRunning { manager.kill() }
        for directory in self.directories { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Runs `legatectl` against the first (or second) manager.
    func legatectl(_ arguments: [String], onSecond: Bool = false) throws -> ExecutableRunner.Result {
        try ExecutableRunner(name: "legatectl").run(
            arguments, environment: onSecond ? self.secondEnvironment : self.firstEnvironment)
    }

    /// The JSON object `legatectl ... --json` printed.
    func json(_ arguments: [String], onSecond: Bool = false) throws -> [String: Any] {
        let result = try self.legatectl(arguments + ["--json"], onSecond: onSecond)
        try #require(result.status == 0, "legatectl \(arguments.joined(separator: " ")): \(result.error)")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
    }

    /// Node id -> connected delegates, as `node list` on the first (or second) manager shows them.
    func nodes(onSecond: Bool = false) throws -> [String: Int] {
        let nodes = try #require(try self.json(["node", "list"], onSecond: onSecond)["nodes"] as? [[String: Any]])
        var counts: [String: Int] = [:]
        for node in nodes {
            counts[node["id"] as? String ?? ""] = (node["connected_delegates"] as? NSNumber)?.intValue ?? -1
        }
        return counts
    }

    /// Asks `node list` up to `attempts` times (each a process run, so the loop is bounded in time too) until
    /// `accept` holds; the last answer.
    func waitForNodes(onSecond: Bool = false, attempts: Int = 150, until accept: ([String: Int]) -> Bool) throws
        -> [String: Int]
    {
        var last: [String: Int] = [:]
        for _ in 0..<attempts {
            last = try self.nodes(onSecond: onSecond)
            if accept(last) { break }
        }
        return last
    }

    /// A `legate-delegate` process connecting to `managers` (comma-separated), its output lines in a mailbox.
    func delegate(managers: String, profile: String? = nil, tags: String? = nil) throws -> FleetDelegate {
        var environment = [
            "LEGATE_MANAGER": managers, "LEGATE_ACCOUNT_ID": self.accountID, "LEGATE_DELEGATE_TOKEN": self.tokenValue,
            "LEGATE_CA_FILE": self.caFile, "LEGATE_SERVER_NAME": "localhost", "LEGATE_DELEGATE_NAME": "fleet-delegate",
        ]
        if let profile { environment["LEGATE_PROFILE"] = profile }
        if let tags { environment["LEGATE_TAGS"] = tags }
        return try FleetDelegate(environment: environment)
    }
}

/// A `legate-delegate` child process whose output lines arrive in a mailbox.
final class FleetDelegate: @unchecked Sendable {
    // `@unchecked Sendable`: `process` is used by the test thread only; `lines` is a thread-safe mailbox.
    let process = Process()
    let lines = Mailbox<String>()
    private let exited = DispatchSemaphore(value: 0)

    init(environment: [String: String]) throws {
        self.process.executableURL = URL(fileURLWithPath: try #require(DelegateProcess.binary))
        self.process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { current, _ in current }
        let pipe = Pipe()
        self.process.standardOutput = pipe
        self.process.standardError = pipe
        self.process.standardInput = FileHandle.nullDevice
        let lines = self.lines
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            for line in text.split(separator: "\n") { lines.put(String(line)) }
        }
        self.process.terminationHandler = { [exited] _ in exited.signal() }
        try self.process.run()
    }

    deinit {
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
    }

    /// The next log line containing `text` (consumed), within `timeout`.
    func line(containing text: String, timeout: Duration = .seconds(20)) -> String? {
        self.lines.first(timeout: timeout) { $0.contains(text) }
    }

    /// The exit status once it exited within `timeout`, else nil.
    func exitStatus(timeout: Duration) -> Int32? {
        guard self.exited.wait(timeout: .now() + timeout.dispatchInterval) == .success else { return nil }
        return self.process.terminationStatus
    }

    /// The value of `key=` in a log line.
    static func value(_ key: String, in line: String) -> String? {
        line.split(separator: " ").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }
}
