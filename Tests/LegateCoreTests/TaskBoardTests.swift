import LegateCore
import LegateWire
import Testing

/// The scheduler with plain numbers for time: routing, capacity, leases, attempts, timeouts, cancel.
struct TaskBoardTests {
    private static func task(
        _ id: String, type: String = "echo", selectors: [String] = [], target: String? = nil, timeoutMs: Int64 = 60_000,
        maxAttempts: UInt32 = 3, account: String = "acc", at: Int64 = 0
    ) -> TaskRecord {
        TaskRecord(
            id: id, accountID: account, type: type, payload: Array(id.utf8), selectors: selectors,
            targetDelegateID: target, timeoutMs: timeoutMs, maxAttempts: maxAttempts, submittedBy: "admin:k",
            createdAt: at)
    }

    private static func slot(
        _ id: String, capacity: Int = 1, tags: Set<String> = [], types: Set<String> = ["echo"], account: String = "acc"
    ) -> TaskBoard.Slot {
        TaskBoard.Slot(delegateID: id, accountID: account, tags: tags, taskTypes: types, capacity: capacity)
    }

    private static func assigned(_ effects: [TaskBoard.Effect]) -> [TaskRecord] {
        effects.compactMap { if case .assign(let task) = $0 { return task } else { return nil } }
    }

    private static func finished(_ effects: [TaskBoard.Effect]) -> [TaskRecord] {
        effects.compactMap { if case .finished(let task) = $0 { return task } else { return nil } }
    }

    @Test(arguments: TaskStatus.allCases) func everyStatusHasOneWireStateAndBack(status: TaskStatus) {
        #expect(TaskStatus(wire: status.wire) == status)
        #expect(status.wire != .unspecified)
    }

    @Test func unspecifiedAndUnknownWireStatesNameNoStatus() {
        #expect(TaskStatus(wire: .unspecified) == nil)
        #expect(TaskStatus(wire: .unrecognized(42)) == nil)
    }

    @Test func queuedTaskWaitsWithAReasonUntilADelegateAppears() {
        var board = TaskBoard()
        _ = board.enqueue(Self.task("t1", type: "shell"), now: 0)
        #expect(board.dispatch(now: 1).isEmpty)
        let queued = board.task(id: "t1")
        #expect(queued.map(board.waitingReason) == "no connected active delegate supports task type 'shell'")
        _ = board.delegateAvailable(Self.slot("d1", types: ["shell"]), now: 2)
        let placed = Self.assigned(board.dispatch(now: 3))
        #expect(placed.map(\.id) == ["t1"])
        #expect(placed.first?.attempt == 1)
        #expect(placed.first?.delegateID == "d1")
        #expect(placed.first?.status == .assigned)
    }

    @Test func selectorsTargetAndAccountDecideEligibility() {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("linux", capacity: 10, tags: ["linux", "x86"]), now: 0)
        _ = board.delegateAvailable(Self.slot("mac", capacity: 10, tags: ["mac"]), now: 0)
        _ = board.delegateAvailable(Self.slot("other", capacity: 10, tags: ["linux", "x86"], account: "acc2"), now: 0)
        _ = board.enqueue(Self.task("a", selectors: ["linux", "x86"]), now: 0)
        _ = board.enqueue(Self.task("b", selectors: ["mac"]), now: 0)
        _ = board.enqueue(Self.task("c", target: "mac"), now: 0)
        _ = board.enqueue(Self.task("d", selectors: ["gpu"]), now: 0)
        _ = board.enqueue(Self.task("e", target: "nowhere"), now: 0)
        let placed = Dictionary(uniqueKeysWithValues: Self.assigned(board.dispatch(now: 1)).map { ($0.id, $0.delegateID) })
        #expect(placed == ["a": "linux", "b": "mac", "c": "mac"])
        #expect(board.task(id: "d").map(board.waitingReason)
            == "no connected active delegate supporting 'echo' has all tags [\"gpu\"]")
        #expect(board.task(id: "e").map(board.waitingReason) == "target delegate nowhere is not connected and active")
    }

    @Test func aTaskRunsOnlyOnDelegatesWhoseScopeCoversIt() throws {
        var board = TaskBoard()
        let web = try Scope(parsing: "project/acme/web")
        var other = Self.slot("api", capacity: 10)
        other.scope = try Scope(parsing: "project/acme/api")
        var org = Self.slot("org", capacity: 1)
        org.scope = try Scope(parsing: "org/acme")
        _ = board.delegateAvailable(other, now: 0)
        var task = Self.task("t")
        task.scope = web
        _ = board.enqueue(task, now: 0)
        #expect(board.dispatch(now: 1).isEmpty)
        #expect(board.task(id: "t").map(board.waitingReason)
            == "no connected active delegate in scope project/acme/web or above supports task type 'echo'")
        _ = board.delegateAvailable(org, now: 2)  // an org delegate serves the org's projects
        #expect(Self.assigned(board.dispatch(now: 3)).first?.delegateID == "org")
    }

    @Test func loadIsSpreadByFreeCapacityAndNeverExceedsIt() {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("big", capacity: 3), now: 0)
        _ = board.delegateAvailable(Self.slot("small", capacity: 1), now: 0)
        for index in 0..<6 { _ = board.enqueue(Self.task("t\(index)"), now: 0) }
        let placed = Self.assigned(board.dispatch(now: 1))
        #expect(placed.count == 4)
        #expect(placed.filter { $0.delegateID == "big" }.count == 3)
        #expect(placed.filter { $0.delegateID == "small" }.count == 1)
        #expect(board.task(id: "t4").map(board.waitingReason) == "all 2 eligible delegates are at capacity")
        #expect(board.dispatch(now: 2).isEmpty)
        // One finishes: exactly one more is placed, on the delegate that freed a place.
        let first = placed[0]
        _ = board.result(
            taskID: first.id, attempt: 1, delegateID: first.delegateID ?? "", outcome: .succeeded, output: [],
            error: "", exitCode: 0, now: 3)
        let next = Self.assigned(board.dispatch(now: 4))
        #expect(next.map(\.id) == ["t4"])
        #expect(next.first?.delegateID == first.delegateID)
    }

    @Test func fullLifecycleStoresEveryTransition() throws {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        _ = board.enqueue(Self.task("t"), now: 0)
        _ = board.dispatch(now: 1)
        board.acknowledged(taskID: "t", attempt: 1, delegateID: "d1", now: 2)
        #expect(board.task(id: "t")?.status == .acknowledged)
        let started = board.progress(
            taskID: "t", attempt: 1, delegateID: "d1", started: true, percent: 10, message: "warming up", now: 3)
        #expect((try? started.get())?.count == 1)
        #expect(board.task(id: "t")?.status == .running)
        #expect(board.task(id: "t")?.message == "warming up")
        let done = try board.result(
            taskID: "t", attempt: 1, delegateID: "d1", outcome: .succeeded, output: Array("ok".utf8), error: "",
            exitCode: 0, now: 4
        ).get()
        let final = try #require(Self.finished(done).first)
        #expect(final.status == .succeeded)
        #expect(final.output == Array("ok".utf8))
        #expect(final.finishedAt == 4)
        #expect(final.progressPercent == 100)
        #expect(board.task(id: "t") == nil)
        #expect(board.liveCount == 0)
    }

    @Test func lostDelegateRedispatchesWithTheNextAttemptAndRefusesTheStaleResult() throws {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        _ = board.enqueue(Self.task("t"), now: 0)
        _ = board.dispatch(now: 1)
        board.acknowledged(taskID: "t", attempt: 1, delegateID: "d1", now: 2)
        let lost = board.delegateUnavailable("d1", now: 3)
        #expect(lost.count == 1)
        #expect(board.task(id: "t")?.status == .queued)
        #expect(board.task(id: "t")?.lostAttempts == 1)
        _ = board.delegateAvailable(Self.slot("d2"), now: 4)
        let second = try #require(Self.assigned(board.dispatch(now: 5)).first)
        #expect(second.attempt == 2)
        #expect(second.delegateID == "d2")
        let stale = board.result(
            taskID: "t", attempt: 1, delegateID: "d1", outcome: .succeeded, output: [], error: "", exitCode: 0, now: 6)
        #expect((stale.failure?.code) == .staleAttempt)
        let intruder = board.result(
            taskID: "t", attempt: 2, delegateID: "d1", outcome: .succeeded, output: [], error: "", exitCode: 0, now: 6)
        #expect((intruder.failure?.code) == .notHolder)
        let progress = board.progress(
            taskID: "t", attempt: 1, delegateID: "d1", started: true, percent: 0, message: "", now: 6)
        #expect((progress.failure?.code) == .staleAttempt)
        #expect(board.task(id: "t")?.status == .assigned)
    }

    @Test func retryPolicyFailsTheTaskWhenItsAttemptsAreSpent() throws {
        var board = TaskBoard()
        _ = board.enqueue(Self.task("t", maxAttempts: 2), now: 0)
        for attempt in 1...2 {
            _ = board.delegateAvailable(Self.slot("d\(attempt)"), now: Int64(attempt * 10))
            #expect(Self.assigned(board.dispatch(now: Int64(attempt * 10 + 1))).first?.attempt == UInt32(attempt))
            let effects = board.delegateUnavailable("d\(attempt)", now: Int64(attempt * 10 + 2))
            if attempt == 2 {
                let failed = try #require(Self.finished(effects).first)
                #expect(failed.status == .failed)
                #expect(failed.error.contains("2 of 2 attempts lost"))
            }
        }
        #expect(board.task(id: "t") == nil)
    }

    @Test func unacknowledgedLeaseIsRedispatchedAndTheOldHolderToldToStop() throws {
        var configuration = TaskBoard.Configuration()
        configuration.lease = .seconds(1)
        var board = TaskBoard(configuration: configuration)
        _ = board.delegateAvailable(Self.slot("slow", capacity: 1), now: 0)
        _ = board.delegateAvailable(Self.slot("fast", capacity: 1), now: 0)
        _ = board.enqueue(Self.task("t"), now: 0)
        let first = try #require(Self.assigned(board.dispatch(now: 0)).first)
        #expect(board.tick(now: 999).isEmpty)
        let expired = board.tick(now: 1_000)
        #expect(expired.contains(.cancelAttempt(
            taskID: "t", attempt: 1, delegateID: first.delegateID ?? "",
            reason: "assignment not acknowledged within its lease")))
        #expect(board.task(id: "t")?.status == .queued)
        let second = try #require(Self.assigned(board.dispatch(now: 1_001)).first)
        #expect(second.attempt == 2)
        // A late acknowledgement of attempt 1 changes nothing.
        board.acknowledged(taskID: "t", attempt: 1, delegateID: first.delegateID ?? "", now: 1_002)
        #expect(board.task(id: "t")?.status == .assigned)
    }

    @Test func timeoutEndsQueuedAndHeldTasks() throws {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        _ = board.enqueue(Self.task("held", timeoutMs: 500), now: 0)
        _ = board.enqueue(Self.task("waiting", type: "other", timeoutMs: 800), now: 0)
        _ = board.dispatch(now: 0)
        board.acknowledged(taskID: "held", attempt: 1, delegateID: "d1", now: 1)
        let first = board.tick(now: 500)
        #expect(first.contains(.cancelAttempt(taskID: "held", attempt: 1, delegateID: "d1", reason: "task timed out")))
        #expect(Self.finished(first).map(\.status) == [.timedOut])
        #expect(board.slot(delegateID: "d1")?.free == 1)
        let second = board.tick(now: 800)
        #expect(Self.finished(second).map(\.id) == ["waiting"])
        #expect(Self.finished(second).first?.error == "no result within the task's timeout of 800 ms")
    }

    @Test func cancelEndsAQueuedTaskAtOnceAndAHeldOneWhenTheDelegateConfirms() throws {
        var configuration = TaskBoard.Configuration()
        configuration.cancelGrace = .seconds(2)
        var board = TaskBoard(configuration: configuration)
        _ = board.enqueue(Self.task("queued", type: "none"), now: 0)
        let (cancelledQueued, queuedEffects) = try board.cancel(
            taskID: "queued", accountID: "acc", reason: "", now: 1).get()
        #expect(cancelledQueued.status == .cancelled)
        #expect(Self.finished(queuedEffects).count == 1)

        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        _ = board.enqueue(Self.task("running"), now: 0)
        _ = board.dispatch(now: 2)
        _ = board.progress(taskID: "running", attempt: 1, delegateID: "d1", started: true, percent: 0, message: "", now: 3)
        let (requested, effects) = try board.cancel(taskID: "running", accountID: "acc", reason: "wrong host", now: 4).get()
        #expect(requested.status == .running)
        #expect(requested.cancelRequested)
        #expect(effects.contains(.cancelAttempt(
            taskID: "running", attempt: 1, delegateID: "d1", reason: "wrong host")))
        let confirmed = try board.result(
            taskID: "running", attempt: 1, delegateID: "d1", outcome: .cancelled, output: [], error: "", exitCode: -1,
            now: 5
        ).get()
        #expect(Self.finished(confirmed).first?.status == .cancelled)
        #expect(board.cancel(taskID: "running", accountID: "acc", reason: "", now: 6).failure?.code == .notFound)
    }

    @Test func cancelOfAnUnresponsiveDelegateEndsAfterTheGrace() throws {
        var configuration = TaskBoard.Configuration()
        configuration.cancelGrace = .seconds(2)
        var board = TaskBoard(configuration: configuration)
        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        _ = board.enqueue(Self.task("t"), now: 0)
        _ = board.dispatch(now: 0)
        board.acknowledged(taskID: "t", attempt: 1, delegateID: "d1", now: 0)
        _ = try board.cancel(taskID: "t", accountID: "acc", reason: "", now: 10).get()
        #expect(board.tick(now: 2_009).isEmpty)
        let ended = Self.finished(board.tick(now: 2_010))
        #expect(ended.first?.status == .cancelled)
        #expect(board.slot(delegateID: "d1")?.free == 1)
        // Another account cannot see or cancel it.
        _ = board.enqueue(Self.task("mine"), now: 0)
        #expect(board.cancel(taskID: "mine", accountID: "other", reason: "", now: 1).failure?.code == .notFound)
    }

    @Test func reloadedHeldTasksGoBackToTheQueueAndKeepTheirAttemptCount() throws {
        var stored = Self.task("t")
        stored.status = .running
        stored.attempt = 4
        stored.delegateID = "gone"
        var board = TaskBoard()
        let effects = board.enqueue(stored, now: 100)
        #expect(effects.count == 1)
        #expect(board.task(id: "t")?.status == .queued)
        _ = board.delegateAvailable(Self.slot("d1"), now: 101)
        #expect(Self.assigned(board.dispatch(now: 102)).first?.attempt == 5)
    }

    @Test func aFinalStateThatCouldNotBeStoredIsReopenedForANewAttempt() throws {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        _ = board.enqueue(Self.task("t"), now: 0)
        _ = board.dispatch(now: 0)
        let ended = try #require(Self.finished(try board.result(
            taskID: "t", attempt: 1, delegateID: "d1", outcome: .succeeded, output: [], error: "", exitCode: 0, now: 1
        ).get()).first)
        let effects = board.reopen(ended, reason: "disk full", now: 2)
        #expect(effects.count == 1)
        #expect(board.task(id: "t")?.status == .queued)
        #expect(board.task(id: "t")?.lostAttempts == 0)  // not the delegate's fault
        #expect(board.reopen(ended, reason: "twice", now: 3).isEmpty)
        #expect(Self.assigned(board.dispatch(now: 4)).first?.attempt == 2)
    }

    @Test func reconnectOfTheSameDelegateLosesWhatTheOldConnectionHeld() throws {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        _ = board.enqueue(Self.task("t"), now: 0)
        _ = board.dispatch(now: 0)
        let effects = board.delegateAvailable(Self.slot("d1"), now: 1)
        #expect(effects.count == 1)
        #expect(Self.assigned(board.dispatch(now: 2)).first?.attempt == 2)
    }

    @Test func thousandsOfTasksOverManyDelegatesEachRunExactlyOnce() throws {
        var board = TaskBoard()
        for index in 0..<10 { _ = board.delegateAvailable(Self.slot("d\(index)", capacity: 4), now: 0) }
        for index in 0..<1_000 { _ = board.enqueue(Self.task("t\(index)"), now: 0) }
        var done: Set<String> = []
        var now: Int64 = 1
        while done.count < 1_000, now < 10_000 {
            for task in Self.assigned(board.dispatch(now: now)) {
                let finished = try board.result(
                    taskID: task.id, attempt: task.attempt, delegateID: task.delegateID ?? "", outcome: .succeeded,
                    output: task.payload, error: "", exitCode: 0, now: now
                ).get()
                for record in Self.finished(finished) {
                    #expect(done.insert(record.id).inserted)
                    #expect(record.attempt == 1)
                }
            }
            now += 1
        }
        #expect(done.count == 1_000)
        #expect(board.liveCount == 0)
    }
}

extension Result {
    /// The error, if this is a failure.
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Scheduler timings are `Duration`s; deadlines on the wall-clock milliseconds tasks carry come from them.
@Suite struct TaskBoardDurationTests {
    @Test func aLeaseGivenAsADurationEndsAtItsMillisecondAndIsNamedInTheMessage() throws {
        var configuration = TaskBoard.Configuration()
        configuration.lease = .seconds(1) + .milliseconds(500)
        var board = TaskBoard(configuration: configuration)
        _ = board.delegateAvailable(
            TaskBoard.Slot(delegateID: "d1", accountID: "acc", tags: [], taskTypes: ["echo"], capacity: 1), now: 0)
        _ = board.enqueue(
            TaskRecord(
                id: "t", accountID: "acc", type: "echo", payload: [], timeoutMs: 60_000, maxAttempts: 3,
                submittedBy: "admin:k", createdAt: 0), now: 0)
        _ = board.dispatch(now: 100)
        #expect(board.tick(now: 1_599).isEmpty)
        _ = board.tick(now: 1_600)
        let requeued = try #require(board.task(id: "t"))
        #expect(requeued.status == .queued)
        #expect(requeued.message.contains("within 1.5 seconds"))
    }

    @Test func theCancelGraceIsADuration() throws {
        var configuration = TaskBoard.Configuration()
        configuration.cancelGrace = .milliseconds(250)
        var board = TaskBoard(configuration: configuration)
        _ = board.delegateAvailable(
            TaskBoard.Slot(delegateID: "d1", accountID: "acc", tags: [], taskTypes: ["echo"], capacity: 1), now: 0)
        _ = board.enqueue(
            TaskRecord(
                id: "t", accountID: "acc", type: "echo", payload: [], timeoutMs: 60_000, maxAttempts: 3,
                submittedBy: "admin:k", createdAt: 0), now: 0)
        _ = board.dispatch(now: 0)
        board.acknowledged(taskID: "t", attempt: 1, delegateID: "d1", now: 0)
        _ = try board.cancel(taskID: "t", accountID: "acc", reason: "", now: 10).get()
        #expect(board.tick(now: 259).isEmpty)
        #expect(board.tick(now: 260).contains { if case .finished(let task) = $0 { task.status == .cancelled } else { false } })
    }
}

/// The board counts the payload and output bytes its live tasks hold.
@Suite struct TaskBoardMemoryTests {
    @Test func liveBytesFollowTasksInAndOut() throws {
        var board = TaskBoard()
        _ = board.delegateAvailable(
            TaskBoard.Slot(delegateID: "d1", accountID: "acc", tags: [], taskTypes: ["echo"], capacity: 1), now: 0)
        for (id, size) in [("a", 300), ("b", 500)] {
            _ = board.enqueue(
                TaskRecord(
                    id: id, accountID: "acc", type: "echo", payload: [UInt8](repeating: 1, count: size),
                    timeoutMs: 60_000, maxAttempts: 3, submittedBy: "admin:k", createdAt: 0), now: 0)
        }
        #expect(board.liveBytes == 800)
        let assigned = board.dispatch(now: 1)
        guard case .assign(let task)? = assigned.first else {
            Issue.record("nothing was assigned")
            return
        }
        #expect(board.liveBytes == 800)
        let effects = try board.result(
            taskID: task.id, attempt: 1, delegateID: "d1", outcome: .succeeded, output: [UInt8](repeating: 2, count: 50),
            error: "", exitCode: 0, now: 2
        ).get()
        #expect(board.liveBytes == 800 - task.payload.count)
        guard case .finished(let done)? = effects.first else {
            Issue.record("the task did not finish")
            return
        }
        // Its end could not be stored: it is live again, output included.
        _ = board.reopen(done, reason: "disk full", now: 3)
        #expect(board.liveBytes == 850)
    }
}
