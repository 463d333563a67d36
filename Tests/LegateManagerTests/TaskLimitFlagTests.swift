import Foundation
import LegateAdminClient
import LegateNet
import LegateWire
import Testing

/// `legate-manager --max-task-payload-bytes` and `--max-live-task-bytes` reach the task service.
@Suite struct TaskLimitFlagTests {
  @Test(.enabled(if: KilledManagerTests.binariesBuilt)) func theTaskByteLimitFlagsAreApplied()
    throws
  {
    let directory = NSTemporaryDirectory() + "legate-task-flags-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let process = try KilledManagerTests.ManagerProcess(
      dataDirectory: directory,
      arguments: ["--max-task-payload-bytes", "100", "--max-live-task-bytes", "250"])
    defer { process.kill() }
    let banner = try KilledManagerTaskTests.banner(process, first: true)
    let group = EventLoopGroup(loopCount: 1)
    let admin = try AdminClient.connect(
      host: "127.0.0.1", port: banner.port, caFile: banner.caFile, serverName: "localhost",
      apiKey: try #require(banner.adminKey), loop: group.next())
    defer { admin.close() }
    let payload = { (size: Int) in
      TaskProtocolTests.spec("nobody-runs-this", payload: String(repeating: "p", count: size))
    }
    #expect(
      throws: AdminClientError.refused(
        code: .invalidArgument,
        message: "task 0: payload of 101 bytes exceeds the limit of 100 bytes (legate-manager "
          + "--max-task-payload-bytes); send a smaller payload, or raise the limit")
    ) { try admin.submitTask(payload(101)) }
    _ = try admin.submitTasks([payload(100), payload(100)])
    #expect(
      throws: AdminClientError.refused(
        code: .resourceExhausted,
        message:
          "queued and running tasks hold 200 bytes of payload and output; 100 more would exceed the "
          + "manager's budget of 250 bytes (legate-manager --max-live-task-bytes); retry when some have "
          + "finished")
    ) { try admin.submitTask(payload(100)) }
  }

  @Test(.enabled(if: KilledManagerTests.binariesBuilt)) func aNegativeLimitIsAUsageError() throws {
    let binary = try #require(KilledManagerTests.binary("legate-manager"))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["--max-live-task-bytes", "0"]
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 2)
    #expect(
      text.contains("--max-live-task-bytes 0 is not valid; expected a positive number of bytes"))
  }
}
