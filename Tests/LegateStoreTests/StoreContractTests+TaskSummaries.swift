import LegateCore
import Testing

@testable import LegateStore

/// The store contract for task lists: pages by cursor, never reading payloads or whole outputs.
extension StoreContractTests {
  @Test(arguments: StoreFactory.all)
  func taskSummariesPageByCursorAndCutLargeFields(kind: StoreFactory) throws {
    try kind.withStore { store in
      var writes: [StoreWrite] = [.insertAccount(Fixture.account())]
      for index in 0..<5 {
        // t3 and t4 share a creation time: the id orders them.
        writes.append(.insertTask(Self.task("t\(index)", at: Fixture.t0 + Int64(min(index, 3)))))
      }
      var big = Self.task("t2", at: Fixture.t0 + 2)
      big.status = .succeeded
      big.finishedAt = Fixture.t0 + 9
      big.output = [UInt8](repeating: 7, count: 100_000)
      big.error = String(repeating: "é", count: 5000)
      writes.append(.updateTask(big))
      try store.apply(writes)

      let first = try store.taskSummaries(
        accountID: "acc-1", status: nil, within: .account, after: nil, limit: 2)
      #expect(first.map(\.task.id) == ["t4", "t3"])
      let cursor = try #require(first.last.map { TaskListCursor(after: $0.task) })
      let second = try store.taskSummaries(
        accountID: "acc-1", status: nil, within: .account, after: cursor, limit: 10)
      #expect(second.map(\.task.id) == ["t2", "t1", "t0"])

      let summary = try #require(second.first)
      #expect(summary.task.payload.isEmpty)
      #expect(summary.task.output == [UInt8](repeating: 7, count: TaskSummary.outputPrefixBytes))
      #expect(summary.outputBytes == 100_000 && summary.outputTruncated)
      #expect(
        summary.task.error.hasPrefix(
          String(repeating: "é", count: TaskSummary.textPrefixCharacters)))
      #expect(summary.task.error.hasSuffix("[cut; the whole text is in TaskGet]"))
      #expect(second[1].outputBytes == 0 && !second[1].outputTruncated)
      #expect(second[1].task.selectors == ["linux", "x86"])

      let succeeded = try store.taskSummaries(
        accountID: "acc-1", status: .succeeded, within: .account, after: nil, limit: 10)
      #expect(succeeded.map(\.task.id) == ["t2"])
      #expect(
        try store.task(id: "t2")?.output.count == 100_000, "the task itself keeps its whole output")
    }
  }

  @Test func aPageTokenRoundTripsAndForeignTokensAreRefused() {
    let cursor = TaskListCursor(after: Self.task("tsk_01:x", at: 1_767_225_600_000))
    #expect(cursor.token == "1767225600000:tsk_01:x")
    #expect(TaskListCursor(token: cursor.token) == cursor)
    for bad in ["", "abc", "12", "12:", ":tsk", "x:tsk"] {
      #expect(TaskListCursor(token: bad) == nil, "\(bad)")
    }
  }
}
