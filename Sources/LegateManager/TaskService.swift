import Dispatch
import LegateCore
import LegateNet
import LegateStore
import LegateWire
import Synchronization

/// Runs the task board on one serial queue: takes events from admin calls and delegate connections, stores
/// every transition (group commit, later states of a task coalesced) and only then pushes or answers.
///
/// `@unchecked Sendable`: every member below `queue` is touched only on `queue`.
final class TaskService: @unchecked Sendable {
    /// Answers of admin task calls.
    typealias Reply = @Sendable (Result<[TaskRecord], AdminError>) -> Void
    /// Answers of admin calls that list tasks (bounded summaries, never whole outputs).
    typealias SummaryReply = @Sendable (Result<[TaskSummary], AdminError>) -> Void

    let configuration: TaskConfiguration
    let queue = DispatchQueue(label: "legate.tasks")
    let store: any StateStore
    private let writer: StoreWriter
    let log: any LogSink
    var board: TaskBoard
    /// The connection of each available delegate, by id (on `queue`).
    var connections: [String: any TaskConnection] = [:]
    private var liveKeys: [String: String] = [:]
    /// Submitted tasks whose insert is not durable yet (idempotent resubmits must find them).
    private var unstoredTasks: [String: TaskRecord] = [:]
    /// Payload bytes of `unstoredTasks` (they count against the live-task byte budget too).
    private var unstoredBytes = 0
    private var logBytes: [String: Int] = [:]
    var waiters = TaskWaiters()
    var recent: RecentTasks
    private var batch = TaskWriteBatch()
    private var writeInFlight = false
    private var dispatchScheduled = false
    private var outbox = TaskOutbox()
    private var outboxScheduled = false
    private let running = Atomic<Bool>(true)
    /// The time leases, timeouts, cancel graces and waits are measured on.
    let clock: any ServiceClock
    /// Task counters and histograms for the metrics endpoint (set before `start`, read on `queue`).
    var metrics = ManagerMetrics()
    /// The secret service, for tasks that use secrets.
    let secretLink = TaskSecretLink()

    init(
        configuration: TaskConfiguration, store: any StateStore, writer: StoreWriter, log: any LogSink,
        clock: any ServiceClock
    ) {
        self.configuration = configuration
        self.clock = clock
        self.store = store
        self.writer = writer
        self.log = log
        self.board = TaskBoard(configuration: configuration.board)
        self.recent = RecentTasks(capacity: 20_000, maxBytes: configuration.finishedCacheBytes)
    }

    /// Loads unfinished tasks (held ones go back to the queue: their holders went with the old process) and starts
    /// the lease/timeout timer. Blocks until the reload is stored.
    func start() throws(StoreError) {
        let unfinished = try self.store.unfinishedTasks()
        let now = self.clock.unixMilliseconds()
        var writes: [StoreWrite] = []
        self.queue.sync {
            for task in unfinished {
                for effect in self.board.enqueue(task, now: now) {
                    if case .store(let record) = effect { writes.append(.updateTask(record)) }
                }
                if let key = task.idempotencyKey { self.liveKeys[Self.keyName(task.accountID, key)] = task.id }
            }
        }
        try self.store.apply(writes)
        if !unfinished.isEmpty {
            self.log.log(.info, "tasks reloaded", ["count": "\(unfinished.count)", "requeued": "\(writes.count)"])
        }
        self.scheduleTick()
    }

    /// Stops the timer; queued work still drains.
    func stop() {
        self.running.store(false, ordering: .relaxed)
    }

    /// Waits until every task write queued so far is durable. Blocks: never call it on the service queue.
    func flush() {
        let done = DispatchSemaphore(value: 0)
        self.queue.async { self.afterPendingWrites { done.signal() } }
        done.wait()
    }

    // MARK: - Delegates (from connection loops)

    /// An active delegate is connected on `connection`: it may receive tasks.
    func delegateAvailable(_ record: DelegateRecord, capacity: Int, scope: Scope, connection: any TaskConnection) {
        self.queue.async {
            self.connections[record.id] = connection
            var slot = TaskBoard.Slot(
                delegateID: record.id, accountID: record.accountID, tags: Set(record.tags),
                taskTypes: Set(record.taskTypes), capacity: capacity, scope: scope)
            if !record.devicePublicKey.isEmpty { slot.rings = self.ringsHeld(by: record.id) }
            self.perform(self.board.delegateAvailable(slot, now: self.clock.unixMilliseconds()))
        }
    }

    /// The delegate's connection `connection` is gone (if it is still the current one).
    func delegateUnavailable(_ delegateID: String, connection: any TaskConnection) {
        self.queue.async {
            guard let current = self.connections[delegateID], current === connection else { return }
            self.connections[delegateID] = nil
            self.perform(self.board.delegateUnavailable(delegateID, now: self.clock.unixMilliseconds()))
        }
    }

    /// The delegate acknowledged TASK_ASSIGN.
    func acknowledged(taskID: String, attempt: UInt32, delegateID: String) {
        self.queue.async {
            self.board.acknowledged(
                taskID: taskID, attempt: attempt, delegateID: delegateID, now: self.clock.unixMilliseconds())
        }
    }

    // MARK: - Admin calls (answered asynchronously; `reply` runs on the service queue)

    /// Stores new tasks (or finds them by idempotency key), then queues them.
    func submit(_ tasks: [TaskRecord], reply: @escaping Reply) {
        self.queue.async {
            if let refusal = self.roomRefusal(for: tasks) { return reply(.failure(refusal)) }
            var answer: [TaskRecord] = []
            var fresh: [TaskRecord] = []
            for task in tasks {
                if let key = task.idempotencyKey, let existing = self.existingTask(accountID: task.accountID, key: key) {
                    guard task.scope.covers(existing.scope) else {
                        return reply(.failure(AdminError(
                            code: .alreadyExists,
                            message: "idempotency key \(key) is taken by a task outside scope \(task.scope); use another key")))
                    }
                    answer.append(existing)
                    continue
                }
                if let key = task.idempotencyKey { self.liveKeys[Self.keyName(task.accountID, key)] = task.id }
                self.unstoredTasks[task.id] = task
                self.unstoredBytes += task.heldBytes
                answer.append(task)
                fresh.append(task)
            }
            guard !fresh.isEmpty else { return reply(.success(answer)) }
            self.batch.inserts += fresh.map { .insertTask($0) }
            self.batch.completions.append { [fresh, answer] error in
                for task in fresh where self.unstoredTasks.removeValue(forKey: task.id) != nil {
                    self.unstoredBytes -= task.heldBytes
                }
                if let error {
                    for task in fresh { if let key = task.idempotencyKey { self.liveKeys[Self.keyName(task.accountID, key)] = nil } }
                    reply(.failure(AdminError(code: .unavailable, message: "tasks not stored: \(error); retry")))
                    return
                }
                let now = self.clock.unixMilliseconds()
                if self.log.isEnabled(.debug) {
                    for task in fresh {
                        self.log.log(.debug, "task transition", ["task.id": task.id, "state": "queued", "attempt": "0"])
                    }
                }
                for task in fresh { self.perform(self.board.enqueue(task, now: now)) }
                self.scheduleDispatch()
                reply(.success(answer))
            }
            self.flushWrites()
        }
    }

    /// Why `tasks` cannot be taken now (too many live tasks, or too many bytes held by them), or nil.
    private func roomRefusal(for tasks: [TaskRecord]) -> AdminError? {
        let live = self.board.liveCount + self.unstoredTasks.count
        guard live + tasks.count <= self.configuration.maxLiveTasks else {
            return AdminError(
                code: .resourceExhausted,
                message: "\(live) tasks are queued or running (limit \(self.configuration.maxLiveTasks)); "
                    + "retry when some have finished")
        }
        var incoming = 0
        for task in tasks { incoming += task.heldBytes }
        let held = self.board.liveBytes + self.unstoredBytes
        let budget = self.configuration.maxLiveTaskBytes
        guard held + incoming <= budget else {
            let advice =
                incoming > budget
                ? "this submission alone is larger than the budget; submit fewer or smaller tasks"
                : "retry when some have finished"
            return AdminError(
                code: .resourceExhausted,
                message: "queued and running tasks hold \(held) bytes of payload and output; \(incoming) more would "
                    + "exceed the manager's budget of \(budget) bytes (legate-manager --max-live-task-bytes); "
                    + advice)
        }
        return nil
    }

    /// Cancels a task: a queued one at once, a held one once its delegate confirms (or the grace passes).
    func cancel(id: String, viewer: TaskViewer, reason: String, reply: @escaping Reply) {
        self.queue.async {
            // A live task outside the key's scope is as unknown as one that does not exist.
            guard self.board.task(id: id).map(viewer.sees) ?? true else {
                return reply(.failure(AdminError(code: .notFound, message: "task \(id) does not exist")))
            }
            let now = self.clock.unixMilliseconds()
            switch self.board.cancel(taskID: id, accountID: viewer.accountID, reason: reason, now: now) {
            case .success(let (task, effects)):
                self.perform(effects) { error in
                    if let error {
                        reply(.failure(AdminError(code: .unavailable, message: "cancel not stored: \(error)")))
                    } else {
                        reply(.success([task]))
                    }
                }
            case .failure:
                self.task(id: id, viewer: viewer) { found in
                    switch found {
                    case .success(let tasks):
                        let state = tasks.first?.status.rawValue ?? "final"
                        reply(.failure(AdminError(
                            code: .failedPrecondition, message: "task \(id) is already \(state); nothing to cancel")))
                    case .failure(let refusal): reply(.failure(refusal))
                    }
                }
            }
        }
    }

    // MARK: - Effects

    /// Performs the board's effects: stores them (coalesced), then pushes, wakes waiters, and calls `completion`.
    func perform(_ effects: [TaskBoard.Effect], completion: (@Sendable (StoreError?) -> Void)? = nil) {
        self.metrics.observe(effects, now: self.clock.unixMilliseconds())
        if self.log.isEnabled(.debug) { self.logTransitions(effects) }
        var assignments: [TaskRecord] = []
        var finished: [TaskRecord] = []
        for effect in effects {
            switch effect {
            case .store(let task):
                self.batch.updates[task.id] = task
            case .assign(let task):
                self.batch.updates[task.id] = task
                assignments.append(task)
            case .finished(let task):
                self.batch.updates[task.id] = task
                finished.append(task)
            case .cancelAttempt(let taskID, let attempt, let delegateID, let reason):
                var cancel = TaskCancel()
                cancel.taskID = taskID
                cancel.attempt = attempt
                cancel.reason = reason
                if let connection = self.connections[delegateID] { self.send(.cancel(cancel), to: connection) }
            }
        }
        if !finished.isEmpty || !assignments.isEmpty || completion != nil {
            self.batch.completions.append { [assignments, finished] error in
                if let error {
                    // Nothing was stored: no push goes out (the lease re-dispatches those), and tasks whose end
                    // was lost run again rather than vanish.
                    let now = self.clock.unixMilliseconds()
                    for task in finished { self.perform(self.board.reopen(task, reason: "\(error)", now: now)) }
                    if !finished.isEmpty { self.scheduleDispatch() }
                } else {
                    for task in assignments { self.push(task) }
                    for task in finished { self.finished(task) }
                }
                completion?(error)
            }
        }
        if !finished.isEmpty { self.scheduleDispatch() }  // capacity was freed
        if !effects.isEmpty || completion != nil { self.flushWrites() }
    }

    private func push(_ task: TaskRecord) {
        guard let holder = task.delegateID, let connection = self.connections[holder],
            self.board.task(id: task.id)?.attempt == task.attempt
        else { return }  // lost meanwhile: the board has already re-queued it
        var assignment = TaskAssignment()
        assignment.taskID = task.id
        assignment.attempt = task.attempt
        assignment.type = task.type
        assignment.payload = task.payload
        assignment.timeoutMs = UInt32(clamping: max(0, task.deadline - self.clock.unixMilliseconds()))
        assignment.leaseMs = self.configuration.board.lease.wireMilliseconds
        if !task.secrets.isEmpty, let holder = task.delegateID {
            assignment.secrets = self.assignmentSecrets(for: task, delegateID: holder)
        }
        self.send(.assign(assignment), to: connection)
    }

    /// Queues `item` for `connection`; the outbox goes out once the work queued so far is done.
    func send(_ item: TaskOutgoing, to connection: any TaskConnection) {
        self.outbox.add(item, to: connection)
        guard !self.outboxScheduled else { return }
        self.outboxScheduled = true
        self.queue.async {
            self.outboxScheduled = false
            self.outbox.flush()
        }
    }

    private func finished(_ task: TaskRecord) {
        self.recent.insert(task)
        self.logBytes[task.id] = nil
        if let key = task.idempotencyKey { self.liveKeys[Self.keyName(task.accountID, key)] = nil }
        for waiter in self.waiters.taskFinished(task.id) { self.answer(waiter) }
    }

    func answer(_ waiter: TaskWaiters.Waiter) {
        self.afterPendingWrites {
            // Summaries as each task is found: a stored task's whole output is let go before the next is read.
            let tasks = waiter.ids.compactMap { id -> TaskSummary? in
                if let known = self.board.task(id: id) ?? self.recent[id] {
                    return waiter.viewer.sees(known) ? TaskSummary(listing: known) : nil
                }
                guard let stored = try? self.store.task(id: id), waiter.viewer.sees(stored) else { return nil }
                return TaskSummary(listing: stored)
            }
            waiter.reply(.success(tasks))
        }
    }

    func appendLog(_ update: TaskUpdate, now: Int64) {
        let used = self.logBytes[update.taskID, default: 0]
        let limit = self.configuration.maxLogBytesPerTask
        guard used < limit else { return }
        var data = update.logChunk
        if used + data.count >= limit {
            data = Array(data.prefix(limit - used)) + Array("\n[log truncated by the manager at \(limit) bytes]\n".utf8)
        }
        self.logBytes[update.taskID] = used + data.count
        self.batch.logs.append(
            .appendTaskLog(TaskLogRecord(taskID: update.taskID, attempt: update.attempt, at: now, data: data)))
    }

    /// One store batch in flight at a time; what arrives meanwhile is coalesced into the next.
    private func flushWrites() {
        guard !self.writeInFlight, !self.batch.isEmpty else { return }
        let current = self.batch
        self.batch = TaskWriteBatch()
        self.writeInFlight = true
        self.writer.submit(current.writes) { error in
            self.queue.async {
                self.writeInFlight = false
                if let error { self.log.log(.error, "task state not stored", ["error": "\(error)"]) }
                for completion in current.completions { completion(error) }
                self.flushWrites()
            }
        }
    }

    /// Runs `body` on the queue once everything queued so far is durable.
    func afterPendingWrites(_ body: @escaping @Sendable () -> Void) {
        if self.batch.isEmpty && !self.writeInFlight { return body() }
        self.batch.completions.append { _ in body() }
        self.flushWrites()
    }

    func scheduleDispatch() {
        guard !self.dispatchScheduled else { return }
        self.dispatchScheduled = true
        self.queue.async {
            self.dispatchScheduled = false
            self.perform(self.board.dispatch(now: self.clock.unixMilliseconds()))
        }
    }

    private func scheduleTick() {
        self.queue.asyncAfter(deadline: .now() + self.configuration.tickInterval.dispatchInterval) {
            guard self.running.load(ordering: .relaxed) else { return }
            self.sweepOnQueue()
            self.scheduleTick()
        }
    }

    /// Runs the lease, timeout, cancel-grace and wait sweep at the clock's time now, and returns once it ran
    /// (its writes may still be in flight). Blocks: never call it on the service queue.
    func sweep() {
        self.queue.sync { self.sweepOnQueue() }
    }

    private func sweepOnQueue() {
        let now = self.clock.unixMilliseconds()
        self.perform(self.board.tick(now: now))
        for waiter in self.waiters.expired(now: now) { self.answer(waiter) }
        self.scheduleDispatch()
    }

    private func existingTask(accountID: String, key: String) -> TaskRecord? {
        if let id = self.liveKeys[Self.keyName(accountID, key)] {
            if let task = self.board.task(id: id) ?? self.unstoredTasks[id] { return task }
            return (try? self.store.task(id: id)) ?? nil
        }
        return (try? self.store.task(accountID: accountID, idempotencyKey: key)) ?? nil
    }

    static func keyName(_ accountID: String, _ key: String) -> String { accountID + "\u{0}" + key }
}
