import Foundation
import LegateCore
import Testing

@testable import LegateStore

/// A real crash: a child process (this test binary, in child mode) commits batches and reports each one
/// after `apply` returns; the parent SIGKILLs it mid-run and checks that every reported batch survived
/// and that the file holds only whole batches (nothing acknowledged is lost).
@Suite struct KilledWriterTests {
    static let childEnvironmentKey = "LEGATE_STORE_KILLED_WRITER_DB"
    static let marker = "LEGATE-COMMITTED "
    static let childBatchLimit = 3000

    /// Child mode only (a no-op in a normal run): write batches until killed, bounded.
    @Test func killedWriterChild() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childEnvironmentKey] else { return }
        let store = try SQLiteStateStore(path: path)
        for index in 0..<Self.childBatchLimit {
            try store.apply(SQLiteDurabilityTests.batch(index))
            FileHandle.standardOutput.write(Data("\(Self.marker)\(index)\n".utf8))
        }
    }

    @Test func survivesSIGKILLMidWrites() throws {
        guard ProcessInfo.processInfo.environment[Self.childEnvironmentKey] == nil else { return }
        let directory = try TemporaryDirectory()
        let path = directory.file("killed.db")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(
            atPath: "/proc/self/exe"))
        child.arguments = ["--testing-library", "swift-testing", "--filter", "killedWriterChild"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childEnvironmentKey: path]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()

        // Read progress until the child has acknowledged enough commits (or exited: EOF ends the loop).
        var acknowledged = -1
        var buffer = ""
        let wanted = 40
        while acknowledged < wanted {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer += String(decoding: chunk, as: UTF8.self)
            for line in buffer.split(separator: "\n") where line.hasPrefix(Self.marker) {
                acknowledged = max(acknowledged, Int(line.dropFirst(Self.marker.count)) ?? -1)
            }
            if let lastNewline = buffer.lastIndex(of: "\n") {
                buffer = String(buffer[buffer.index(after: lastNewline)...])
            }
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        try #require(acknowledged >= wanted, "child acknowledged only \(acknowledged) batches")

        let recovered = try SQLiteStateStore(path: path)
        let accounts = try recovered.accounts().map(\.id)
        #expect(accounts.count > acknowledged, "acknowledged \(acknowledged), found \(accounts.count)")
        #expect(accounts.count < Self.childBatchLimit, "the child finished before it was killed")
        #expect(accounts == (0..<accounts.count).map { "acc-\($0)" })
        #expect(try recovered.allTokens().map(\.id) == (0..<accounts.count).map { "tok-\($0)" })
        #expect(try recovered.auditRecords(accountID: nil, limit: 1).first?.sequence == Int64(accounts.count))
    }
}
