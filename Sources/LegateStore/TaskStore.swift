public import LegateCore

/// Reads of the task tables; writes go through `StateStore.apply` (`insertTask`, `updateTask`,
/// `appendTaskLog`).
public protocol TaskStore: AnyObject, Sendable {
    /// The task with this id, if any.
    func task(id: String) throws(StoreError) -> TaskRecord?
    /// The task of an account submitted with this idempotency key, if any.
    func task(accountID: String, idempotencyKey: String) throws(StoreError) -> TaskRecord?
    /// Tasks of an account, newest first, at most `limit`, optionally only those in `status` and only those whose
    /// scope `within` covers.
    func tasks(accountID: String, status: TaskStatus?, within: Scope, limit: Int) throws(StoreError) -> [TaskRecord]
    /// Summaries of an account's tasks (no payload, output and texts cut to `TaskSummary`'s bounds, never read
    /// whole), newest first, after `cursor`, at most `limit`, optionally only those in `status` and within a scope.
    func taskSummaries(
        accountID: String, status: TaskStatus?, within: Scope, after cursor: TaskListCursor?, limit: Int
    ) throws(StoreError) -> [TaskSummary]
    /// Every task not final yet (loaded at manager start), oldest first.
    func unfinishedTasks() throws(StoreError) -> [TaskRecord]
    /// Log chunks of a task, in arrival order.
    func taskLogs(taskID: String) throws(StoreError) -> [TaskLogRecord]
}

/// Constraint texts of the task tables, shared by both stores.
enum TaskConstraintText {
    static func missingTask(_ id: String) -> String { "task \(id) does not exist" }
    static func duplicateKey(_ key: String) -> String {
        "idempotency key \(key) is already used by another task of this account"
    }
}

/// Task tables of the in-memory store, with the SQLite store's constraints.
struct TaskTables {
    var tasks: [String: TaskRecord] = [:]
    var logs: [TaskLogRecord] = []

    mutating func perform(_ write: StoreWrite, accountExists: (String) -> Bool) throws(StoreError) {
        switch write {
        case .insertTask(let task):
            guard self.tasks[task.id] == nil else { throw .constraint("insert task: UNIQUE constraint failed: tasks.id") }
            guard accountExists(task.accountID) else { throw .constraint("insert task: FOREIGN KEY constraint failed") }
            if let key = task.idempotencyKey,
                self.tasks.values.contains(where: { $0.accountID == task.accountID && $0.idempotencyKey == key })
            {
                throw .constraint(TaskConstraintText.duplicateKey(key))
            }
            self.tasks[task.id] = task
        case .updateTask(let task):
            guard let stored = self.tasks[task.id] else { throw .constraint(TaskConstraintText.missingTask(task.id)) }
            var updated = task
            updated.payload = stored.payload  // the request is immutable, as in SQLite's UPDATE
            self.tasks[task.id] = updated
        case .appendTaskLog(let record):
            self.logs.append(record)
        default:
            break
        }
    }

    func tasks(accountID: String, status: TaskStatus?, within: Scope, limit: Int) -> [TaskRecord] {
        Array(
            self.tasks.values.filter {
                $0.accountID == accountID && (status == nil || $0.status == status) && within.covers($0.scope)
            }
                .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(max(0, limit)))
    }
}

extension InMemoryStateStore {
    /// The task with this id, if any.
    public func task(id: String) throws(StoreError) -> TaskRecord? { self.taskTables { $0.tasks[id] } }

    /// The task of an account submitted with this idempotency key, if any.
    public func task(accountID: String, idempotencyKey: String) throws(StoreError) -> TaskRecord? {
        self.taskTables { tables in
            tables.tasks.values.first { $0.accountID == accountID && $0.idempotencyKey == idempotencyKey }
        }
    }

    /// Tasks of an account, newest first, within a scope.
    public func tasks(accountID: String, status: TaskStatus?, within: Scope, limit: Int) throws(StoreError)
        -> [TaskRecord]
    {
        self.taskTables { $0.tasks(accountID: accountID, status: status, within: within, limit: limit) }
    }

    /// Summaries of an account's tasks, newest first, after `cursor`, within a scope.
    public func taskSummaries(
        accountID: String, status: TaskStatus?, within: Scope, after cursor: TaskListCursor?, limit: Int
    ) throws(StoreError) -> [TaskSummary] {
        self.taskTables { tables in
            tables.tasks(accountID: accountID, status: status, within: within, limit: Int.max)
                .lazy.filter { cursor?.precedes($0) ?? true }.prefix(max(0, limit)).map(TaskSummary.init(listing:))
        }
    }

    /// Every task not final yet, oldest first.
    public func unfinishedTasks() throws(StoreError) -> [TaskRecord] {
        self.taskTables { tables in
            tables.tasks.values.filter { $0.finishedAt == nil }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    /// Log chunks of a task, in arrival order.
    public func taskLogs(taskID: String) throws(StoreError) -> [TaskLogRecord] {
        self.taskTables { $0.logs.filter { $0.taskID == taskID } }
    }
}

extension FaultInjectingStore {
    /// Passes through.
    public func task(id: String) throws(StoreError) -> TaskRecord? { try self.wrappedStore.task(id: id) }

    /// Passes through.
    public func task(accountID: String, idempotencyKey: String) throws(StoreError) -> TaskRecord? {
        try self.wrappedStore.task(accountID: accountID, idempotencyKey: idempotencyKey)
    }

    /// Passes through.
    public func tasks(accountID: String, status: TaskStatus?, within: Scope, limit: Int) throws(StoreError)
        -> [TaskRecord]
    {
        try self.wrappedStore.tasks(accountID: accountID, status: status, within: within, limit: limit)
    }

    /// Passes through.
    public func taskSummaries(
        accountID: String, status: TaskStatus?, within: Scope, after cursor: TaskListCursor?, limit: Int
    ) throws(StoreError) -> [TaskSummary] {
        try self.wrappedStore.taskSummaries(
            accountID: accountID, status: status, within: within, after: cursor, limit: limit)
    }

    /// Passes through.
    public func unfinishedTasks() throws(StoreError) -> [TaskRecord] { try self.wrappedStore.unfinishedTasks() }

    /// Passes through.
    public func taskLogs(taskID: String) throws(StoreError) -> [TaskLogRecord] {
        try self.wrappedStore.taskLogs(taskID: taskID)
    }
}
