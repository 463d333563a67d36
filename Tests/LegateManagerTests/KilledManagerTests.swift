import Foundation
import LegateAuth
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// The real `legate-manager` binary, killed with SIGKILL right after acknowledging a revoke: on restart the
/// token is still refused (a state change is durable before it is acknowledged).
@Suite(.serialized) struct KilledManagerTests {
    /// `.build/debug/<name>` next to this package (`swift test` builds the executables too).
    static func binary(_ name: String) -> String? {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let path = url.appendingPathComponent(".build/debug/\(name)").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    static let binariesBuilt = binary("legate-manager") != nil && binary("legatectl") != nil

    /// A manager child process and what its banner said.
    final class ManagerProcess: @unchecked Sendable {
        // `@unchecked Sendable`: `process` is used by the test thread only; `output` is a thread-safe mailbox.
        let process = Process()
        let output = Mailbox<String>()

        /// Starts `legate-manager` on port 0 over `dataDirectory`; `shellPrefix` (e.g. `ulimit -n 200 &&`) runs
        /// before it in `/bin/sh`, `standardError` receives its log (default: discarded).
        init(
            dataDirectory: String, arguments: [String] = [], logLevel: String = "error", shellPrefix: String? = nil,
            standardError: FileHandle = .nullDevice
        ) throws {
            let binary = try #require(KilledManagerTests.binary("legate-manager"))
            let managerArguments =
                ["--port", "0", "--data-dir", dataDirectory, "--log-level", logLevel] + arguments
            if let shellPrefix {
                self.process.executableURL = URL(fileURLWithPath: "/bin/sh")
                self.process.arguments = ["-c", "\(shellPrefix) exec \"$0\" \"$@\"", binary] + managerArguments
            } else {
                self.process.executableURL = URL(fileURLWithPath: binary)
                self.process.arguments = managerArguments
            }
            let pipe = Pipe()
            self.process.standardOutput = pipe
            self.process.standardError = standardError
            let output = self.output
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let text = String(decoding: handle.availableData, as: UTF8.self)
                for line in text.split(separator: "\n") { output.put(String(line)) }
            }
            try self.process.run()
        }

        /// The text after `prefix` on the first banner line that starts with it.
        func value(after prefix: String) -> String? {
            self.output.first(timeout: .seconds(20)) { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }

        /// What `legatectl` needs from a first start's banner: the address, the CA file and the admin key.
        func adminEnvironment() throws -> [String: String] {
            let address = try #require(self.value(after: "Legate manager listening on ")?.split(separator: " ").first)
            let caFile = try #require(self.value(after: "  CA file (dev certificate): "))
            let adminKey = try #require(
                self.value(after: "  bootstrap admin API key (shown once, store it now; all permissions): "))
            return ["LEGATE_MANAGER": String(address), "LEGATE_CA_FILE": caFile, "LEGATE_ADMIN_KEY": adminKey]
        }

        var isRunning: Bool { self.process.isRunning }

        func kill() {
            Glibc.kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
        }
    }

    @Test(.enabled(if: KilledManagerTests.binariesBuilt)) func revokeSurvivesSIGKILL() throws {
        let directory = NSTemporaryDirectory() + "legate-kill-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try ManagerProcess(dataDirectory: directory)
        let address = try #require(first.value(after: "Legate manager listening on ")?.split(separator: " ").first)
        let caFile = try #require(first.value(after: "  CA file (dev certificate): "))
        let accountID = try #require(first.value(after: "  account id: "))
        let token = try DelegateToken.parse(
            try #require(first.value(after: "  default delegate token (shown once, store it now): ")))
        let adminKey = try #require(
            first.value(after: "  bootstrap admin API key (shown once, store it now; all permissions): "))

        let revoke = Process()
        revoke.executableURL = URL(fileURLWithPath: try #require(Self.binary("legatectl")))
        revoke.arguments = ["token", "revoke", token.id]
        revoke.environment = ["LEGATE_MANAGER": String(address), "LEGATE_CA_FILE": caFile, "LEGATE_ADMIN_KEY": adminKey]
        revoke.standardOutput = FileHandle.nullDevice
        try revoke.run()
        revoke.waitUntilExit()
        #expect(revoke.terminationStatus == 0, "the revoke was not acknowledged")
        first.kill()  // no graceful shutdown: whatever was acknowledged must already be on disk

        let second = try ManagerProcess(dataDirectory: directory)
        defer { second.kill() }
        let restarted = try #require(second.value(after: "Legate manager listening on ")?.split(separator: " ").first)
        let port = try #require(Int(restarted.split(separator: ":").last ?? ""))
        let group = EventLoopGroup(loopCount: 1)
        let raw = try #require(ProtocolPeer.connect(port: port, caFile: caFile, loop: group.next()))
        #expect(raw.hello() != nil)
        raw.send(ManagerHarness.registerFrame(token: token, accountID: accountID))
        let error = try #require(raw.frames.first { $0.type == .error }, "a revoked token's delegate is told to stop")
        #expect(error.streamID == 0 && (try? Status(protoBytes: error.payload))?.code == .permissionDenied)
        #expect(raw.waitUntilClosed())
        #expect(!raw.frames.all.contains { $0.type == .push }, "a connection that never registered is pushed nothing")
    }
}
