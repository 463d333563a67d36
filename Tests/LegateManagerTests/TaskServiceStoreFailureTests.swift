import LegateCore
import LegateNet
import LegateStore
import LegateTestSupport
import LegateWire
import Synchronization
import Testing

@testable import LegateManager

/// A delegate connection stand-in: records what the task service sends it.
final class RecordingTaskConnection: TaskConnection {
    let eventLoop: EventLoop
    let delivered = Mailbox<TaskOutgoing>()

    init(loop: EventLoop) {
        self.eventLoop = loop
    }

    func deliverOnLoop(_ items: [TaskOutgoing]) {
        for item in items { self.delivered.put(item) }
    }
}

/// The task service over a store that fails like a full disk: nothing is acknowledged that was not stored,
/// and nothing is lost once the disk has room again.
@Suite struct TaskServiceStoreFailureTests {
    let group = EventLoopGroup(loopCount: 1)
    let clock = ManualClock(unixMilliseconds: WallClock.unixMilliseconds())

    func service() throws -> (TaskService, FaultInjectingStore) {
        let memory = InMemoryStateStore()
        try memory.apply([.insertAccount(AccountRecord(id: "acc", name: "a", createdAt: 0))])
        let store = FaultInjectingStore(wrapping: memory, fault: nil)
        let log = InMemoryLogSink()
        var configuration = TaskConfiguration()
        configuration.board.lease = .milliseconds(300) // an assignment the full disk kept from being stored is retried soon
        let service = TaskService(
            configuration: configuration, store: store, writer: StoreWriter(store: store, log: log), log: log,
            clock: self.clock)
        try service.start()
        return (service, store)
    }

    static func task(_ id: String) -> TaskRecord {
        TaskRecord(
            id: id, accountID: "acc", type: "echo", payload: [1], timeoutMs: 60_000, maxAttempts: 3,
            submittedBy: "admin:k", createdAt: WallClock.unixMilliseconds())
    }

    static func submit(_ service: TaskService, _ tasks: [TaskRecord]) -> Result<[TaskRecord], AdminError>? {
        let answer = Mailbox<Result<[TaskRecord], AdminError>>()
        service.submit(tasks) { answer.put($0) }
        return answer.next()
    }

    @Test func aSubmissionTheDiskRefusesIsRefusedAndLeavesNothingBehind() throws {
        let (service, store) = try self.service()
        defer { service.stop() }
        store.setFault(.init(failingApply: 1, error: .diskFull(path: "/data/state.db"), isTransient: false))
        guard case .failure(let refusal)? = Self.submit(service, [Self.task("t1")]) else {
            Issue.record("a submission that was not stored was accepted")
            return
        }
        #expect(refusal.code == .unavailable)
        #expect(refusal.message.contains("tasks not stored"))
        #expect(try store.task(id: "t1") == nil)
        store.setFault(nil)  // room again: the same submission now succeeds
        #expect(try Self.submit(service, [Self.task("t1")])?.get().map(\.id) == ["t1"])
        #expect(try store.task(id: "t1")?.status == .queued)
    }

    @Test func aResultTheDiskRefusesIsAnsweredUnavailableNotAcknowledged() throws {
        let (service, store) = try self.service()
        defer { service.stop() }
        let connection = RecordingTaskConnection(loop: self.group.next())
        service.delegateAvailable(
            DelegateRecord(
                id: "d1", accountID: "acc", instanceID: "i1", name: "d", hostname: "h", ipAddress: "127.0.0.1",
                version: "1", tags: [], taskTypes: ["echo"], profile: "default", tokenID: "tok", status: .active,
                firstSeenAt: 0),
            capacity: 1, scope: .account, connection: connection)
        _ = try Self.submit(service, [Self.task("t1")])?.get()
        guard case .assign(let assignment)? = connection.delivered.next() else {
            Issue.record("no assignment")
            return
        }
        store.setFault(.init(failingApply: 1, error: .diskFull(path: "/data/state.db"), isTransient: false))
        var result = TaskResult()
        result.taskID = assignment.taskID
        result.attempt = assignment.attempt
        result.outcome = .succeeded
        service.result(result, delegateID: "d1", connection: connection, streamID: 7)
        guard case .answer(let method, let streamID, let refusal)? = connection.delivered.next() else {
            Issue.record("the result was not answered")
            return
        }
        #expect(method == CallMethod.taskResult.rawValue && streamID == 7)
        #expect(refusal?.0 == .unavailable)
        #expect(try store.task(id: "t1")?.status != .succeeded)  // not recorded, so not acknowledged

        // Room again: the lost end is not lost work; the task runs again as attempt 2 and completes.
        // The re-dispatch made while the disk is still full is not stored, so not pushed; its lease expiry (on the
        // manual clock) sends a TASK_CANCEL and dispatches again once there is room.
        service.flush()
        store.setFault(nil)
        self.clock.advance(by: .milliseconds(300))
        service.sweep()
        let next = connection.delivered.first { if case .assign = $0 { return true } else { return false } }
        guard case .assign(let second)? = next else {
            Issue.record("the task was not re-dispatched after the store recovered")
            return
        }
        #expect(second.taskID == "t1" && second.attempt >= 2)
        result.attempt = second.attempt
        service.result(result, delegateID: "d1", connection: connection, streamID: 9)
        let answer = connection.delivered.first { if case .answer(_, 9, _) = $0 { return true } else { return false } }
        guard case .answer(_, 9, let accepted)? = answer else {
            Issue.record("the second result was not answered")
            return
        }
        #expect(accepted == nil)
        #expect(try store.task(id: "t1")?.status == .succeeded)
    }
}
