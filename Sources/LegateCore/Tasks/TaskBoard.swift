// The task scheduler as a pure state machine: queue, routing, leases, attempts, timeouts, cancel.
// No clock and no I/O: every call takes `now` (Unix milliseconds) and returns the effects to perform.

/// Which tasks run where. The manager's task service owns one, feeds it events and performs its effects
/// (store first, then push); tests drive it with plain numbers for time.
public struct TaskBoard: Sendable {
    /// Tunables of the scheduler.
    public struct Configuration: Sendable, Equatable {
        /// An assignment not acknowledged within this is re-dispatched as a new attempt. Default 10 s.
        public var lease: Duration = .seconds(10)
        /// After a cancel reaches a delegate, how long it has to report before the task is cancelled anyway.
        /// Default 30 s.
        public var cancelGrace: Duration = .seconds(30)

        /// The defaults.
        public init() {}
    }

    /// A delegate the board may give tasks to: active, connected, with its routing facts.
    public struct Slot: Sendable, Equatable {
        /// Delegate id.
        public var delegateID: String
        /// Its account; tasks never cross accounts.
        public var accountID: String
        /// Its tags (selectors must all be among them).
        public var tags: Set<String>
        /// Task types it runs.
        public var taskTypes: Set<String>
        /// Tasks it may run at once (at least 1).
        public var capacity: Int
        /// Its token's scope; it runs tasks whose scope this covers.
        public var scope: Scope
        /// Tasks it holds now.
        public fileprivate(set) var held: Set<String> = []
        /// Key rings whose current ring key it holds a sealed copy of: it may run tasks using their secrets.
        public var rings: Set<String> = []

        /// Creates a slot with nothing held.
        public init(
            delegateID: String, accountID: String, tags: Set<String>, taskTypes: Set<String>, capacity: Int,
            scope: Scope = .account
        ) {
            self.scope = scope
            self.delegateID = delegateID
            self.accountID = accountID
            self.tags = tags
            self.taskTypes = taskTypes
            self.capacity = max(1, capacity)
        }

        /// Tasks it can still take.
        public var free: Int { self.capacity - self.held.count }
    }

    /// What the caller must do after an event.
    public enum Effect: Sendable, Equatable {
        /// Store this state of the task (later states of the same task supersede it).
        case store(TaskRecord)
        /// Store the assignment, then push TASK_ASSIGN for `task.attempt` to `task.delegateID`.
        case assign(TaskRecord)
        /// Push TASK_CANCEL for this attempt to the delegate (best effort; no state to store).
        case cancelAttempt(taskID: String, attempt: UInt32, delegateID: String, reason: String)
        /// The task became final: store it, then tell whoever waits for it.
        case finished(TaskRecord)
    }

    /// The reason of the TASK_CANCEL sent when an assignment's lease ran out (metrics count these).
    public static let leaseExpiredReason = "assignment not acknowledged within its lease"

    /// The timings this board runs with.
    public let configuration: Configuration
    /// `configuration.lease` in milliseconds, for arithmetic on the wall-clock `now` tasks are stamped with.
    private let leaseMilliseconds: Int64
    /// `configuration.cancelGrace` in milliseconds.
    private let cancelGraceMilliseconds: Int64
    private(set) var tasks: [String: TaskRecord] = [:]
    /// Sum of `heldBytes` over `tasks`, kept as tasks come and go.
    public private(set) var liveBytes = 0
    private var queue: [String] = []
    var slots: [Slot] = []
    var slotIndex: [String: Int] = [:]
    private var leaseDeadlines: [String: Int64] = [:]
    private var cancelDeadlines: [String: Int64] = [:]

    /// Creates an empty board.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.leaseMilliseconds = max(0, configuration.lease.int64Milliseconds)
        self.cancelGraceMilliseconds = max(0, configuration.cancelGrace.int64Milliseconds)
    }

    // MARK: - Reads

    /// The live (not final) task with this id.
    public func task(id: String) -> TaskRecord? { self.tasks[id] }

    /// Every live task.
    public var liveTasks: [TaskRecord] { Array(self.tasks.values) }

    /// Number of live tasks.
    public var liveCount: Int { self.tasks.count }

    /// The slot of a delegate, if it may receive tasks.
    public func slot(delegateID: String) -> Slot? { self.slotIndex[delegateID].map { self.slots[$0] } }

    // MARK: - Admin events

    /// Adds a task already stored as queued (or reloaded at start: held attempts go back to the queue, their
    /// holders are gone with the old process).
    public mutating func enqueue(_ record: TaskRecord, now: Int64) -> [Effect] {
        var task = record
        guard !task.status.isFinal else { return [] }
        var effects: [Effect] = []
        if task.status != .queued {
            task.status = .queued
            task.updatedAt = now
            task.message = "re-queued: the manager restarted while attempt \(task.attempt) was running"
            effects.append(.store(task))
        }
        self.insert(task)
        self.queue.append(task.id)
        return effects
    }

    /// A final state could not be stored: the task is queued again for a new attempt, so the store never misses a
    /// result the delegate was told was recorded (it was not told: its report was answered UNAVAILABLE).
    public mutating func reopen(_ record: TaskRecord, reason: String, now: Int64) -> [Effect] {
        guard self.tasks[record.id] == nil else { return [] }
        var task = record
        task.status = .queued
        task.finishedAt = nil
        task.updatedAt = now
        task.message = "the end of attempt \(task.attempt) could not be stored (\(reason)); re-queued"
        self.insert(task)
        self.queue.append(task.id)
        return [.store(task)]
    }

    /// An admin cancels a task: a queued one ends at once, a held one is told to stop.
    public mutating func cancel(taskID: String, accountID: String, reason: String, now: Int64)
        -> Result<(TaskRecord, [Effect]), Refusal>
    {
        guard var task = self.tasks[taskID], task.accountID == accountID else {
            return .failure(Refusal(code: .notFound, message: "task \(taskID) is not running or queued"))
        }
        let text = reason.isEmpty ? "cancelled by an administrator" : "cancelled: \(reason)"
        guard task.status.isHeld, let holder = task.delegateID else {
            task.message = text
            let effects = self.finish(&task, .cancelled, now: now)
            return .success((task, effects))
        }
        if task.cancelRequested { return .success((task, [])) }
        task.cancelRequested = true
        task.message = text
        task.updatedAt = now
        self.tasks[taskID] = task
        self.cancelDeadlines[taskID] = now + self.cancelGraceMilliseconds
        return .success(
            (task, [
                .store(task),
                .cancelAttempt(
                    taskID: taskID, attempt: task.attempt, delegateID: holder,
                    reason: reason.isEmpty ? "cancelled by an administrator" : reason),
            ]))
    }

    // MARK: - Delegate events

    /// A delegate became active and connected (or reconnected): it may receive tasks.
    public mutating func delegateAvailable(_ slot: Slot, now: Int64) -> [Effect] {
        var effects: [Effect] = []
        if self.slotIndex[slot.delegateID] != nil {
            // A new connection of the same delegate: whatever the old one held is lost with it.
            effects = self.delegateUnavailable(slot.delegateID, now: now)
        }
        var fresh = slot
        fresh.held = []
        self.slotIndex[slot.delegateID] = self.slots.count
        self.slots.append(fresh)
        return effects
    }

    /// A delegate disconnected, was rejected or deleted: its attempts are lost.
    public mutating func delegateUnavailable(_ delegateID: String, now: Int64) -> [Effect] {
        guard let index = self.slotIndex.removeValue(forKey: delegateID) else { return [] }
        let slot = self.slots.remove(at: index)
        for (id, position) in self.slotIndex where position > index { self.slotIndex[id] = position - 1 }
        var effects: [Effect] = []
        for taskID in slot.held.sorted() {
            guard var task = self.tasks[taskID] else { continue }
            effects += self.loseAttempt(&task, reason: "delegate \(delegateID) went away", now: now)
        }
        return effects
    }

    /// The delegate acknowledged an assignment (PUSH_ACK). Kept in memory only: nobody is answered, and after a
    /// restart a held task is re-queued whatever its stored state, so storing it would buy nothing.
    public mutating func acknowledged(taskID: String, attempt: UInt32, delegateID: String, now: Int64) {
        guard var task = self.tasks[taskID], task.attempt == attempt, task.delegateID == delegateID,
            task.status == .assigned
        else { return }
        self.leaseDeadlines[taskID] = nil
        task.status = .acknowledged
        task.updatedAt = now
        self.tasks[taskID] = task
    }

    /// The holder reports that the work started and/or progress; answers only after the effects are stored.
    public mutating func progress(
        taskID: String, attempt: UInt32, delegateID: String, started: Bool, percent: UInt32, message: String,
        now: Int64
    ) -> Result<[Effect], Refusal> {
        switch self.checkHolder(taskID: taskID, attempt: attempt, delegateID: delegateID) {
        case .failure(let refusal): return .failure(refusal)
        case .success(var task):
            self.leaseDeadlines[taskID] = nil  // a report implies the assignment arrived
            if started || task.status == .assigned { task.status = .running }
            if task.status == .acknowledged, percent > 0 || !message.isEmpty { task.status = .running }
            task.progressPercent = min(percent, 100)
            if !message.isEmpty, !task.cancelRequested { task.message = message }
            task.updatedAt = now
            self.tasks[taskID] = task
            return .success([.store(task)])
        }
    }

    /// The holder reports how the attempt ended.
    public mutating func result(
        taskID: String, attempt: UInt32, delegateID: String, outcome: Outcome, output: [UInt8], error: String,
        exitCode: Int32, now: Int64
    ) -> Result<[Effect], Refusal> {
        switch self.checkHolder(taskID: taskID, attempt: attempt, delegateID: delegateID) {
        case .failure(let refusal): return .failure(refusal)
        case .success(var task):
            task.output = output
            task.error = error
            task.exitCode = exitCode
            let status: TaskStatus
            switch outcome {
            case .succeeded: status = .succeeded
            case .failed: status = .failed
            case .cancelled: status = task.cancelRequested ? .cancelled : .failed
            case .timedOut: status = .timedOut
            }
            if outcome == .cancelled, !task.cancelRequested, task.error.isEmpty {
                task.error = "the delegate cancelled the attempt on its own"
            }
            if status == .succeeded { task.progressPercent = 100 }
            return .success(self.finish(&task, status, now: now))
        }
    }

    // MARK: - Time and dispatch

    /// Expires leases, cancel graces and task timeouts.
    public mutating func tick(now: Int64) -> [Effect] {
        var effects: [Effect] = []
        for (taskID, deadline) in self.leaseDeadlines where now >= deadline {
            guard var task = self.tasks[taskID] else { continue }
            let holder = task.delegateID ?? "-"
            effects.append(
                .cancelAttempt(
                    taskID: taskID, attempt: task.attempt, delegateID: holder,
                    reason: Self.leaseExpiredReason))
            effects += self.loseAttempt(
                &task, reason: "delegate \(holder) did not acknowledge attempt \(task.attempt) within "
                    + "\(self.configuration.lease)", now: now)
        }
        for (taskID, deadline) in self.cancelDeadlines where now >= deadline {
            guard var task = self.tasks[taskID] else { continue }
            task.message += " (the delegate did not confirm within \(self.configuration.cancelGrace))"
            effects += self.finish(&task, .cancelled, now: now)
        }
        for task in self.tasks.values where now >= task.deadline {
            var expired = task
            if task.status.isHeld, let holder = task.delegateID {
                effects.append(
                    .cancelAttempt(
                        taskID: task.id, attempt: task.attempt, delegateID: holder, reason: "task timed out"))
            }
            expired.error = "no result within the task's timeout of \(task.timeoutMs) ms"
            effects += self.finish(&expired, .timedOut, now: now)
        }
        return effects
    }

    /// Places queued tasks, oldest first, on the eligible delegate with the most free capacity.
    public mutating func dispatch(now: Int64) -> [Effect] {
        var totalFree = 0
        for position in self.slots.indices { totalFree += max(0, self.slots[position].free) }
        guard totalFree > 0, !self.queue.isEmpty else { return [] }
        var effects: [Effect] = []
        var remaining: [String] = []
        var index = 0
        while index < self.queue.count {
            let taskID = self.queue[index]
            index += 1
            guard var task = self.tasks[taskID], task.status == .queued else { continue }
            guard let slotPosition = self.bestSlot(for: task) else {
                remaining.append(taskID)
                continue
            }
            task.attempt += 1
            task.status = .assigned
            task.delegateID = self.slots[slotPosition].delegateID
            task.updatedAt = now
            task.message = ""
            self.slots[slotPosition].held.insert(taskID)
            self.tasks[taskID] = task
            self.leaseDeadlines[taskID] = now + self.leaseMilliseconds
            effects.append(.assign(task))
            totalFree -= 1
            if totalFree == 0 { break }
        }
        remaining.append(contentsOf: self.queue[index...])
        self.queue = remaining
        return effects
    }

    // MARK: - Internals

    private func bestSlot(for task: TaskRecord) -> Int? {
        var best: Int?
        var bestFree = 0
        // Indices, not `for slot in`: a copied Slot would retain and release its three sets per visit.
        for position in self.slots.indices {
            let free = self.slots[position].free
            guard free > bestFree, self.slots[position].accountID == task.accountID,
                self.slots[position].scope.covers(task.scope),
                self.slots[position].taskTypes.contains(task.type),
                task.targetDelegateID == nil || task.targetDelegateID == self.slots[position].delegateID,
                task.selectors.isEmpty || task.selectors.allSatisfy(self.slots[position].tags.contains),
                task.secrets.isEmpty || self.slots[position].holdsRings(of: task)
            else { continue }
            best = position
            bestFree = free
        }
        return best
    }

    func checkHolder(taskID: String, attempt: UInt32, delegateID: String) -> Result<TaskRecord, Refusal> {
        guard let task = self.tasks[taskID] else {
            return .failure(
                Refusal(code: .staleAttempt, message: "task \(taskID) is not running any more; drop attempt \(attempt)"))
        }
        guard task.attempt == attempt, task.status.isHeld else {
            return .failure(
                Refusal(
                    code: .staleAttempt,
                    message: "attempt \(attempt) of task \(taskID) is stale (current attempt: \(task.attempt)); drop it"))
        }
        guard task.delegateID == delegateID else {
            return .failure(
                Refusal(code: .notHolder, message: "attempt \(attempt) of task \(taskID) is held by another delegate"))
        }
        return .success(task)
    }

    /// The holder lost the attempt: re-queue as a new attempt, or fail when the retry policy is spent.
    private mutating func loseAttempt(_ task: inout TaskRecord, reason: String, now: Int64) -> [Effect] {
        self.release(task)
        if task.cancelRequested {
            return self.finish(&task, .cancelled, now: now)
        }
        task.lostAttempts += 1
        if task.lostAttempts >= task.maxAttempts {
            task.error = "\(reason); \(task.lostAttempts) of \(task.maxAttempts) attempts lost"
            return self.finish(&task, .failed, now: now)
        }
        task.status = .queued
        task.message = "\(reason); re-queued for attempt \(task.attempt + 1)"
        task.updatedAt = now
        task.progressPercent = 0
        self.tasks[task.id] = task
        self.queue.append(task.id)
        return [.store(task)]
    }

    private mutating func finish(_ task: inout TaskRecord, _ status: TaskStatus, now: Int64) -> [Effect] {
        self.release(task)
        task.status = status
        task.updatedAt = now
        task.finishedAt = now
        if let removed = self.tasks.removeValue(forKey: task.id) { self.liveBytes -= removed.heldBytes }
        return [.finished(task)]
    }

    /// Adds a live task, keeping `liveBytes` in step.
    private mutating func insert(_ task: TaskRecord) {
        if let replaced = self.tasks.updateValue(task, forKey: task.id) { self.liveBytes -= replaced.heldBytes }
        self.liveBytes += task.heldBytes
    }

    /// Frees the task's slot capacity and timers (the queue drops final entries lazily).
    private mutating func release(_ task: TaskRecord) {
        self.leaseDeadlines[task.id] = nil
        self.cancelDeadlines[task.id] = nil
        if task.status.isHeld, let holder = task.delegateID, let position = self.slotIndex[holder] {
            self.slots[position].held.remove(task.id)
        }
    }
}
