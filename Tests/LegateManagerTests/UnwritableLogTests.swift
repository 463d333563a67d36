import Foundation
import LegateCore
import LegateManager
import LegateNet
import LegateTestSupport
import Testing

/// A manager whose log cannot be written keeps serving: lines are dropped and counted, never a trap or a
/// SIGPIPE death (with the sink in process and with the real `legate-manager` binary).
@Suite(.serialized) struct UnwritableLogTests {
    @Test func sinkOnAFullDiskCountsDrops() throws {
        let handle = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        defer { try? handle.close() }
        let sink = StandardErrorLogSink(
            minimumLevel: .info, writer: OutputWriter(fileDescriptor: handle.fileDescriptor, whenFull: .drop))
        sink.log(.warning, "admin authentication refused", ["peer": "127.0.0.1:1", "reason": "unknown key"])
        sink.log(.debug, "below the level, not written", [:])
        sink.log(.info, "manager listening", [:])
        #expect(sink.droppedLines == 2)
    }

    @Test func sinkOnAPipeWithoutReaderCountsDrops() throws {
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let sink = StandardErrorLogSink(
            minimumLevel: .info,
            writer: OutputWriter(fileDescriptor: pipe.fileHandleForWriting.fileDescriptor, whenFull: .wait))
        sink.log(.warning, "admin authentication refused", [:])
        #expect(sink.droppedLines == 1)
    }

    /// Where the child's standard error goes.
    enum LogTarget: String, CaseIterable, Sendable {
        case fullDisk, closedPipe
    }

    @Test(.enabled(if: KilledManagerTests.binariesBuilt), arguments: LogTarget.allCases)
    func managerSurvivesStartAndARefusedAdminKey(_ target: LogTarget) throws {
        let directory = NSTemporaryDirectory() + "legate-log-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Debug level: startup and the refused key both write log lines.
        let logPipe = Pipe()
        let standardError: FileHandle
        switch target {
        case .fullDisk:
            standardError = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        case .closedPipe:
            standardError = logPipe.fileHandleForWriting
            try logPipe.fileHandleForReading.close()
        }
        let manager = try KilledManagerTests.ManagerProcess(
            dataDirectory: directory, logLevel: "debug", standardError: standardError)
        defer { manager.kill() }
        let banner = try manager.adminEnvironment()
        let adminKey = try #require(banner["LEGATE_ADMIN_KEY"])
        let environment = banner.filter { $0.key != "LEGATE_ADMIN_KEY" }
        let refused = try Self.legatectl(["token", "list"], environment: environment.merging(
            ["LEGATE_ADMIN_KEY": "lak_" + String(repeating: "x", count: 40)]) { $1 })
        #expect(refused == 1, "a wrong admin key is refused")
        #expect(manager.isRunning, "the manager died writing its log")
        let accepted = try Self.legatectl(
            ["token", "list"], environment: environment.merging(["LEGATE_ADMIN_KEY": adminKey]) { $1 })
        #expect(accepted == 0, "the manager still answers after the refused key")
        #expect(manager.isRunning)
    }

    /// Runs the built `legatectl`; returns its exit status.
    static func legatectl(_ arguments: [String], environment: [String: String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(KilledManagerTests.binary("legatectl")))
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
