import LegateCore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// Task memory is bounded in bytes: one payload, the payloads and outputs of all live tasks, and the cache of
/// finished tasks.
@Suite struct TaskMemoryBoundTests {
  static func spec(payloadBytes: Int, type: String = "nobody-runs-this") -> TaskSpec {
    var spec = TaskSpec()
    spec.type = type
    spec.payload = [UInt8](repeating: 0x61, count: payloadBytes)
    return spec
  }

  /// Serves one admin call through the fixture's router and waits for its answer.
  static func serve(
    _ fixture: ServiceFixture, _ method: AdminMethod, _ request: some ProtoMessage
  ) -> Result<[UInt8], AdminError>? {
    let answer = Mailbox<Result<[UInt8], AdminError>>()
    fixture.services.adminRouter.serve(
      method: method.rawValue, payload: request.protoBytes(), session: fixture.session
    ) { answer.put($0) }
    return answer.next()
  }

  static func submit(_ fixture: ServiceFixture, _ specs: [TaskSpec]) -> Result<
    [TaskInfo], AdminError
  >? {
    var request = TaskSubmitRequest()
    request.tasks = specs
    return Self.serve(fixture, .taskSubmit, request).map { result in
      result.flatMap { bytes in
        Result { try TaskSubmitResponse(protoBytes: bytes).tasks }.mapError { _ in
          .unavailable("malformed")
        }
      }
    }
  }

  @Test func aPayloadAboveTheLimitIsRefusedNamingItsSizeTheLimitAndTheFlag() throws {
    let fixture = try ServiceFixture { $0.tasks.maxPayloadBytes = 1000 }
    #expect(try Self.submit(fixture, [Self.spec(payloadBytes: 1000)])?.get().count == 1)
    guard
      case .failure(let refusal)? = Self.submit(
        fixture, [Self.spec(payloadBytes: 10), Self.spec(payloadBytes: 1001)])
    else {
      Issue.record("a payload above the limit was accepted")
      return
    }
    #expect(refusal.code == .invalidArgument)
    #expect(
      refusal.message
        == "task 1: payload of 1001 bytes exceeds the limit of 1000 bytes (legate-manager "
        + "--max-task-payload-bytes); send a smaller payload, or raise the limit")
  }

  @Test func aPayloadWhoseAssignmentWouldNotFitInAFrameIsRefused() throws {
    let fixture = try ServiceFixture()  // 1 MiB payloads, 1 MiB frames
    let limit = FrameLimits.defaultMaxFrameBytes - TaskSpecRules.assignmentEnvelopeBytes
    #expect(try Self.submit(fixture, [Self.spec(payloadBytes: limit)])?.get().count == 1)
    guard case .failure(let refusal)? = Self.submit(fixture, [Self.spec(payloadBytes: limit + 1)])
    else {
      Issue.record("a payload whose assignment cannot fit in a frame was accepted")
      return
    }
    #expect(refusal.code == .invalidArgument)
    #expect(
      refusal.message.contains("payload of \(limit + 1) bytes exceeds the limit of \(limit) bytes"))
    #expect(refusal.message.contains("one frame of \(FrameLimits.defaultMaxFrameBytes) bytes"))
  }

  @Test func liveTasksAreBoundedByTheBytesTheyHoldAndRoomReturnsWhenTheyEnd() throws {
    let fixture = try ServiceFixture { $0.tasks.maxLiveTaskBytes = 10_000 }
    let first = try #require(try Self.submit(fixture, [Self.spec(payloadBytes: 4000)])?.get().first)
    #expect(try Self.submit(fixture, [Self.spec(payloadBytes: 4000)])?.get().count == 1)
    guard case .failure(let refusal)? = Self.submit(fixture, [Self.spec(payloadBytes: 4000)]) else {
      Issue.record("a submission beyond the byte budget was accepted")
      return
    }
    #expect(refusal.code == .resourceExhausted)
    #expect(
      refusal.message
        == "queued and running tasks hold 8000 bytes of payload and output; 4000 more would exceed the "
        + "manager's budget of 10000 bytes (legate-manager --max-live-task-bytes); retry when some have finished"
    )
    // A submission larger than the whole budget says so.
    guard
      case .failure(let tooBig)? = Self.submit(
        fixture, (0..<3).map { _ in Self.spec(payloadBytes: 4000) })
    else {
      Issue.record("a submission larger than the budget was accepted")
      return
    }
    #expect(
      tooBig.message.hasSuffix(
        "this submission alone is larger than the budget; submit fewer or smaller tasks"))
    var cancel = TaskCancelRequest()
    cancel.taskID = first.id
    _ = try Self.serve(fixture, .taskCancel, cancel)?.get()
    #expect(try Self.submit(fixture, [Self.spec(payloadBytes: 4000)])?.get().count == 1)
    #expect(fixture.services.tasks.queue.sync { fixture.services.tasks.board.liveBytes } == 8000)
  }
}

/// The cache of finished tasks stays within its byte budget whatever the tasks carry.
@Suite struct RecentTasksBoundTests {
  static func finished(_ id: String, error: Int = 0, output: Int = 0) -> TaskRecord {
    var task = TaskRecord(
      id: id, accountID: "acc", type: "echo", payload: [UInt8](repeating: 1, count: 100_000),
      timeoutMs: 1000, maxAttempts: 1, submittedBy: "admin:k", createdAt: 0)
    task.status = .failed
    task.error = String(repeating: "e", count: error)
    task.output = [UInt8](repeating: 2, count: output)
    return task
  }

  @Test func theOldestAreForgottenWhenTheBytesRunOut() {
    var recent = RecentTasks(capacity: 1000, maxBytes: 20_000)
    for index in 0..<100 { recent.insert(Self.finished("t\(index)", error: 2000, output: 1000)) }
    #expect(recent.bytes <= 20_000)
    #expect(recent["t99"]?.error.count == 2000)
    #expect(recent["t99"]?.payload.isEmpty == true)
    #expect(recent["t0"] == nil)
  }

  @Test func aTaskWithLargeTextsIsNotKeptAtAll() {
    var recent = RecentTasks(capacity: 1000, maxBytes: 1 << 20)
    recent.insert(Self.finished("huge-error", error: 500_000))
    recent.insert(Self.finished("huge-output", output: 500_000))
    #expect(recent["huge-error"] == nil && recent["huge-output"] == nil)
    #expect(recent.bytes == 0)
    recent.insert(Self.finished("small", error: 10))
    #expect(recent["small"] != nil)
    #expect(recent.bytes == RecentTasks.cost(of: recent["small"] ?? Self.finished("x")))
  }

  @Test func theCountBoundStillHolds() {
    var recent = RecentTasks(capacity: 3, maxBytes: 1 << 20)
    for index in 0..<10 { recent.insert(Self.finished("t\(index)")) }
    #expect(recent["t6"] == nil && recent["t7"] != nil && recent["t9"] != nil)
  }
}
