import LegateCore
import LegateNet
import LegateStore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// Task leases and cancel graces end on the task service's clock: the test moves it and sweeps, no waiting.
@Suite struct TaskClockTests {
    let group = EventLoopGroup(loopCount: 1)

    /// A task service with one delegate (capacity 1) holding task `t1`'s first attempt.
    func assigned(_ fixture: ServiceFixture) throws -> (TaskService, RecordingTaskConnection, TaskAssignment) {
        let service = fixture.services.tasks
        let connection = RecordingTaskConnection(loop: self.group.next())
        service.delegateAvailable(
            fixture.delegate("d1", status: .active), capacity: 1, scope: .account, connection: connection)
        let task = TaskRecord(
            id: "t1", accountID: ServiceFixture.accountID, type: "echo", payload: [1], timeoutMs: 3_600_000,
            maxAttempts: 5, submittedBy: "admin:k", createdAt: fixture.clock.unixMilliseconds())
        let answer = Mailbox<Result<[TaskRecord], AdminError>>()
        service.submit([task]) { answer.put($0) }
        _ = try answer.next()?.get()
        guard case .assign(let assignment)? = connection.delivered.next() else {
            throw AdminError.unavailable("no assignment was pushed")
        }
        return (service, connection, assignment)
    }

    func attempt(_ service: TaskService) -> UInt32? {
        service.queue.sync { service.board.task(id: "t1")?.attempt }
    }

    @Test func anUnacknowledgedAssignmentIsReassignedWhenItsLeaseEndsOnTheClock() throws {
        let fixture = try ServiceFixture()
        let (service, connection, first) = try self.assigned(fixture)
        #expect(first.attempt == 1)
        let lease = service.configuration.board.lease
        fixture.clock.advance(by: lease - .milliseconds(1))
        service.sweep()
        #expect(self.attempt(service) == 1, "the lease has not ended")
        fixture.clock.advance(by: .milliseconds(1))
        service.sweep()
        #expect(self.attempt(service) == 2)
        let cancel = connection.delivered.first { if case .cancel = $0 { true } else { false } }
        guard case .cancel(let cancelled)? = cancel else {
            Issue.record("the lost attempt was not cancelled")
            return
        }
        #expect(cancelled.attempt == 1 && cancelled.reason.contains("lease"))
        let next = connection.delivered.first { if case .assign = $0 { true } else { false } }
        guard case .assign(let second)? = next else {
            Issue.record("the task was not assigned again")
            return
        }
        #expect(second.taskID == "t1" && second.attempt == 2)
    }

    @Test func aCancelTheDelegateDoesNotConfirmEndsWhenTheGraceEndsOnTheClock() throws {
        let fixture = try ServiceFixture()
        let (service, connection, assignment) = try self.assigned(fixture)
        service.acknowledged(taskID: "t1", attempt: assignment.attempt, delegateID: "d1")
        let answer = Mailbox<Result<[TaskRecord], AdminError>>()
        service.cancel(
            id: "t1", viewer: TaskViewer(accountID: ServiceFixture.accountID, scope: .account), reason: "wrong build"
        ) { answer.put($0) }
        _ = try answer.next()?.get()
        #expect(connection.delivered.first { if case .cancel = $0 { true } else { false } } != nil)
        let grace = service.configuration.board.cancelGrace
        fixture.clock.advance(by: grace - .milliseconds(1))
        service.sweep()
        #expect(self.attempt(service) != nil, "still waiting for the delegate within the grace")
        fixture.clock.advance(by: .milliseconds(1))
        service.sweep()
        service.flush()
        let stored = try fixture.store.task(id: "t1")
        #expect(stored?.status == .cancelled)
        #expect(stored?.message.contains("did not confirm") == true)
    }
}
