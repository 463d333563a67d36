import Foundation
import LegateAdminClient
import LegateCore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// Task lists and waits stay inside the frame limits whatever the tasks carry: outputs are cut (TaskGet has them
/// whole), lists page, and an answer that still would not fit is a RESOURCE_EXHAUSTED status on its call.
@Suite struct TaskListingTests {
  static func list(
    _ fixture: ServiceFixture, limit: UInt32, token: String = ""
  ) -> Result<TaskListResponse, AdminError>? {
    var request = TaskListRequest()
    request.limit = limit
    request.pageToken = token
    return TaskMemoryBoundTests.serve(fixture, .taskList, request).map { result in
      result.flatMap { bytes in
        Result { try TaskListResponse(protoBytes: bytes) }.mapError { _ in .unavailable("malformed")
        }
      }
    }
  }

  @Test func pagesFollowEachOtherNewestFirstWithoutGapsOrRepeats() throws {
    let fixture = try ServiceFixture()
    var ids: [String] = []
    for _ in 0..<23 {
      ids += try #require(
        TaskMemoryBoundTests.submit(fixture, [TaskMemoryBoundTests.spec(payloadBytes: 1)])
      )
      .get().map(\.id)
      fixture.clock.advance(by: .milliseconds(1))
    }
    var listed: [String] = []
    var token = ""
    var pages = 0
    repeat {
      let page = try #require(Self.list(fixture, limit: 7, token: token)).get()
      #expect(page.tasks.count <= 7)
      listed += page.tasks.map(\.id)
      token = page.nextPageToken
      pages += 1
    } while !token.isEmpty && pages < 10
    #expect(pages == 4)
    #expect(listed == Array(ids.reversed()))
  }

  @Test func aPageEndsEarlyOnceItHoldsItsByteBudget() throws {
    let fixture = try ServiceFixture()
    var spec = TaskMemoryBoundTests.spec(payloadBytes: 1)
    spec.selectors = (0..<64).map { "tag-\($0)-" + String(repeating: "s", count: 240) }  // ~16 KiB per task
    for _ in 0..<4 {
      _ = try #require(TaskMemoryBoundTests.submit(fixture, Array(repeating: spec, count: 10)))
        .get()
    }
    let first = try #require(Self.list(fixture, limit: 1000)).get()
    #expect(first.protoBytes().count <= TaskService.maxPageBytes + 64)
    #expect(first.tasks.count < 40 && !first.nextPageToken.isEmpty)
    let rest = try #require(Self.list(fixture, limit: 1000, token: first.nextPageToken)).get()
    #expect(first.tasks.count + rest.tasks.count == 40)
    #expect(Set(first.tasks.map(\.id)).isDisjoint(with: rest.tasks.map(\.id)))
  }

  @Test func aForeignPageTokenIsRefused() throws {
    let fixture = try ServiceFixture()
    guard case .failure(let refusal)? = Self.list(fixture, limit: 10, token: "not-a-token") else {
      Issue.record("a page token the manager never gave out was accepted")
      return
    }
    #expect(refusal.code == .invalidArgument && refusal.message.contains("page_token"))
  }

  @Test func anAnswerAboveThePeersFrameLimitIsResourceExhaustedWithAdvice() throws {
    let fixture = try ServiceFixture()
    let task = try #require(
      try TaskMemoryBoundTests.submit(fixture, [TaskMemoryBoundTests.spec(payloadBytes: 5000)])?
        .get().first)
    var get = TaskRef()
    get.taskID = task.id
    let answer = Mailbox<Result<[UInt8], AdminError>>()
    fixture.services.adminRouter.serve(
      method: AdminMethod.taskGet.rawValue, payload: get.protoBytes(), session: fixture.session,
      maxResponseBytes: 4096
    ) { answer.put($0) }
    guard case .failure(let refusal)? = answer.next() else {
      Issue.record("an answer above the peer's limit was sent")
      return
    }
    #expect(refusal.code == .resourceExhausted)
    #expect(refusal.message.hasPrefix("the taskGet answer is "))
    #expect(refusal.message.contains("more than the 4096-byte frame limit of this connection"))
    #expect(refusal.message.hasSuffix("or read its summary with TaskList"))
    // The same call within the limit is answered.
    fixture.services.adminRouter.serve(
      method: AdminMethod.taskGet.rawValue, payload: get.protoBytes(), session: fixture.session,
      maxResponseBytes: 8192
    ) { answer.put($0) }
    #expect(try TaskInfo(protoBytes: try #require(answer.next()).get()).payload.count == 5000)
    #expect(try fixture.auditActions().contains("api.taskGet"))
  }
}

/// Twenty tasks with 1 MB outputs used to make a 20 MB TaskList frame, above the 16 MiB ceiling: the client saw
/// the connection close. Now the list carries their first bytes and TaskGet the whole output.
@Suite(.serialized) struct LargeTaskOutputTests {
  @Test func listsAndWaitsOfLargeOutputsStayBoundedAndTaskGetHasTheWholeOutput() throws {
    let harness = try ManagerHarness()
    let admin = try TaskProtocolTests.admin(harness)
    defer { admin.close() }
    let delegate = try #require(ScriptedDelegate(harness, instanceID: "big-output", capacity: 20))
    let submitted = try admin.submitTasks(
      (0..<20).map { _ in TaskProtocolTests.spec(payload: "x") })
    let output = [UInt8](repeating: 0x6f, count: 1_000_000)
    for _ in 0..<20 {
      let assignment = try #require(delegate.nextAssignment())
      #expect(delegate.finish(assignment, output: output) == nil)
    }
    let listed = try admin.tasks(limit: 100)
    #expect(listed.count == 20)
    for task in listed {
      #expect(task.outputTruncated && task.outputBytes == 1_000_000)
      #expect(task.output.count == TaskSummary.outputPrefixBytes)
    }
    let page = try admin.taskPage(limit: 100)
    #expect(page.protoBytes().count < FrameLimits.defaultMaxFrameBytes)
    let waited = try admin.waitForTasks(ids: submitted.map(\.id), timeoutMs: 1000)
    #expect(
      waited.count == 20 && waited.allSatisfy { $0.state == .succeeded && $0.outputTruncated })
    let whole = try admin.task(id: submitted[0].id)
    #expect(whole.output == output && !whole.outputTruncated && whole.outputBytes == 1_000_000)

    if LegatectlTests.binary != nil {
      let environment = [
        "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
        "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
      ]
      let list = try LegatectlTests().run(["task", "list"], environment: environment)
      #expect(list.status == 0)
      #expect(list.output.contains(submitted[19].id))
    }
  }
}
