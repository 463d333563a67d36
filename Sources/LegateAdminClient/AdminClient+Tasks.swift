import LegateCore
import LegateWire

// Task calls of the admin API as plain Swift functions; each blocks until the manager answers.

extension AdminClient {
    /// Submits tasks (stored by the manager before it answers); returns them in order, with their ids.
    public func submitTasks(_ specs: [TaskSpec]) throws(AdminClientError) -> [TaskInfo] {
        var request = TaskSubmitRequest()
        request.tasks = specs
        return try self.call(.taskSubmit, request, as: TaskSubmitResponse.self).tasks
    }

    /// Submits one task; the same `idempotencyKey` again returns the same task.
    public func submitTask(_ spec: TaskSpec) throws(AdminClientError) -> TaskInfo {
        guard let task = try self.submitTasks([spec]).first else {
            throw .malformed("TaskSubmit answered with no task")
        }
        return task
    }

    /// Submits one task and returns it with the manager's warnings (accepted, but perhaps not what was meant:
    /// say, a type no delegate of the account has announced).
    public func submit(_ spec: TaskSpec) throws(AdminClientError) -> (task: TaskInfo, warnings: [String]) {
        var request = TaskSubmitRequest()
        request.tasks = [spec]
        let response = try self.call(.taskSubmit, request, as: TaskSubmitResponse.self)
        guard let task = response.tasks.first else { throw .malformed("TaskSubmit answered with no task") }
        return (task, response.warnings)
    }

    /// The task as it is now, with its payload.
    public func task(id: String) throws(AdminClientError) -> TaskInfo {
        var request = TaskRef()
        request.taskID = id
        return try self.call(.taskGet, request, as: TaskInfo.self)
    }

    /// Up to `limit` tasks of the account, newest first, optionally only those in `state`, following pages. Each
    /// carries only the first bytes of its output (`outputTruncated`, `outputBytes`); `task(id:)` has all of it.
    public func tasks(state: TaskState = .unspecified, limit: UInt32 = 100) throws(AdminClientError) -> [TaskInfo] {
        let wanted = Int(limit == 0 ? 100 : limit)
        var tasks: [TaskInfo] = []
        var token = ""
        repeat {
            let page = try self.taskPage(
                state: state, limit: UInt32(clamping: wanted - tasks.count), pageToken: token)
            tasks += page.tasks.prefix(wanted - tasks.count)
            token = page.nextPageToken
        } while !token.isEmpty && tasks.count < wanted
        return tasks
    }

    /// One page of the account's tasks, newest first: at most `limit` (the manager may end a page early to bound
    /// its size), and `nextPageToken` when more follow (pass it back as `pageToken`).
    public func taskPage(
        state: TaskState = .unspecified, limit: UInt32 = 100, pageToken: String = ""
    ) throws(AdminClientError) -> TaskListResponse {
        var request = TaskListRequest()
        request.state = state
        request.limit = limit
        request.pageToken = pageToken
        return try self.call(.taskList, request, as: TaskListResponse.self)
    }

    /// Cancels a task; a running one stops once its delegate confirms.
    public func cancelTask(id: String, reason: String = "") throws(AdminClientError) -> TaskInfo {
        var request = TaskCancelRequest()
        request.taskID = id
        request.reason = reason
        return try self.call(.taskCancel, request, as: TaskInfo.self)
    }

    /// The stored log chunks of a task.
    public func taskLogs(id: String) throws(AdminClientError) -> TaskLogsResponse {
        var request = TaskRef()
        request.taskID = id
        return try self.call(.taskLogs, request, as: TaskLogsResponse.self)
    }

    /// Waits until every task is final or `timeoutMs` passed; returns the tasks as they are then, each with only
    /// the first bytes of its output (`outputTruncated`; `task(id:)` has all of it). The manager holds the call
    /// up to `timeoutMs` (at most 300 s), so the answer is awaited that long plus the client's deadline.
    public func waitForTasks(ids: [String], timeoutMs: UInt32 = 30_000) throws(AdminClientError) -> [TaskInfo] {
        var request = TaskWaitRequest()
        request.taskIds = ids
        request.timeoutMs = timeoutMs
        let held = Duration.milliseconds(Int64(timeoutMs == 0 ? 30_000 : min(timeoutMs, 300_000)))
        return try self.call(.taskWait, request, as: TaskListResponse.self, timeout: held + self.deadline).tasks
    }

    /// Waits until the task is final or `timeout` passed (nil: no limit), repeating the manager's long poll;
    /// returns the task as it is then (`isFinal` tells which).
    public func waitForTask(id: String, timeout: Duration?) throws(AdminClientError) -> TaskInfo {
        let clock = ContinuousClock()
        let end = timeout.map { clock.now + $0 }
        var current = try self.task(id: id)
        while !current.state.isFinal {
            var slice = Duration.seconds(60)
            if let end {
                let left = end - clock.now
                guard left > .zero else { break }
                slice = min(slice, left)
            }
            let parts = slice.components
            let milliseconds = max(1, parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
            current = try self.waitForTasks(ids: [id], timeoutMs: UInt32(clamping: milliseconds)).first ?? current
        }
        return current
    }
}

extension TaskState {
    /// True once the task can no longer change.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .timedOut, .cancelled: return true
        default: return false
        }
    }

    /// Lower-case name for people (`queued`, `running`, `timed_out`...): the stored status's name.
    public var name: String {
        if let status = TaskStatus(wire: self) { return status.rawValue }
        if case .unrecognized(let value) = self { return "state(\(value))" }
        return "unspecified"
    }

    /// The state named `name` (as printed by `name`), if any.
    public init?(name: String) {
        guard let status = TaskStatus(rawValue: name) else { return nil }
        self = status.wire
    }
}
