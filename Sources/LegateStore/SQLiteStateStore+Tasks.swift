public import LegateCore

// The task reads of this store: the statements live once, in SQLTaskTables.

extension SQLiteStateStore {
    /// The task with this id, if any.
    public func task(id: String) throws(StoreError) -> TaskRecord? {
        try self.read { (db) throws(StoreError) in try SQLTaskTables.task(db, id: id) }
    }

    /// The task of an account submitted with this idempotency key, if any.
    public func task(accountID: String, idempotencyKey: String) throws(StoreError) -> TaskRecord? {
        try self.read { (db) throws(StoreError) in
            try SQLTaskTables.task(db, accountID: accountID, idempotencyKey: idempotencyKey)
        }
    }

    /// Tasks of an account, newest first, at most `limit`, optionally only those in `status`, within a scope.
    public func tasks(accountID: String, status: TaskStatus?, within: Scope, limit: Int) throws(StoreError)
        -> [TaskRecord]
    {
        try self.read { (db) throws(StoreError) in
            try SQLTaskTables.tasks(db, accountID: accountID, status: status, within: within, limit: limit)
        }
    }

    /// Every task not final yet, oldest first.
    public func unfinishedTasks() throws(StoreError) -> [TaskRecord] {
        let owner = self.owner.withLock { $0 }
        return try self.read { (db) throws(StoreError) in try SQLNodeTables.unfinishedTasks(db, owner: owner) }
    }

    /// Log chunks of a task, in arrival order.
    public func taskLogs(taskID: String) throws(StoreError) -> [TaskLogRecord] {
        try self.read { (db) throws(StoreError) in try SQLTaskTables.taskLogs(db, taskID: taskID) }
    }

    /// Summaries of an account's tasks, newest first, after `cursor`: payloads are not read, outputs and texts
    /// only up to the summary's bounds.
    public func taskSummaries(
        accountID: String, status: TaskStatus?, within: Scope, after cursor: TaskListCursor?, limit: Int
    ) throws(StoreError) -> [TaskSummary] {
        try self.read { (db) throws(StoreError) in
            try SQLTaskTables.taskSummaries(
                db, accountID: accountID, status: status, within: within, after: cursor, limit: limit)
        }
    }
}
