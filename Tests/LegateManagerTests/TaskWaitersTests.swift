import LegateCore
import Testing

@testable import LegateManager

/// TaskWait bookkeeping: a waiter is released once every task it waits for is final, and never twice.
@Suite struct TaskWaitersTests {
    func waiter(_ ids: [String], deadline: Int64 = 1_000) -> TaskWaiters.Waiter {
        TaskWaiters.Waiter(
            ids: ids, viewer: TaskViewer(accountID: "a", scope: .account), pending: Set(ids), deadline: deadline,
            reply: { _ in })
    }

    @Test func aWaiterIsReleasedByItsLastTaskOnly() {
        var waiters = TaskWaiters()
        let ids = (0..<50).map { "t\($0)" }
        waiters.add(self.waiter(ids))
        for id in ids.dropLast() { #expect(waiters.taskFinished(id).isEmpty) }
        let done = waiters.taskFinished("t49")
        #expect(done.map(\.ids) == [ids])
        #expect(done.first?.pending.isEmpty == true)
        #expect(waiters.taskFinished("t49").isEmpty)
        #expect(waiters.expired(now: 10_000).isEmpty)
    }

    @Test func waitersSharingATaskAreEachReleasedOnce() {
        var waiters = TaskWaiters()
        waiters.add(self.waiter(["x", "y"]))
        waiters.add(self.waiter(["y"]))
        waiters.add(self.waiter(["y", "z"], deadline: 5))
        let first = waiters.taskFinished("y")
        #expect(first.map(\.ids) == [["y"]])
        #expect(waiters.taskFinished("x").map(\.ids) == [["x", "y"]])
        let expired = waiters.expired(now: 5)
        #expect(expired.map(\.ids) == [["y", "z"]])
        #expect(expired.first?.pending == ["z"])
        #expect(waiters.taskFinished("z").isEmpty)
    }
}
