import LegateCore

// Task tables, in the SQL both stores speak. The request columns are written once; updates touch only the state.

/// The task statements of the SQLite and PostgreSQL stores, written once over `SQLDatabase`.
enum SQLTaskTables {
    /// Every column of a task row, in the order `record` reads them.
    static let taskColumns = """
        id, account_id, type, payload, selectors, target_delegate_id, timeout_ms, idempotency_key, max_attempts,
        submitted_by, created_at, scope, status, attempt, delegate_id, lost_attempts, updated_at, finished_at,
        progress_percent, message, output, error, exit_code, cancel_requested, secrets
        """
    /// `taskColumns` for lists: no payload, bounded texts and output (three bound values), then the output's size.
    static func summaryColumns<DB: SQLDatabase>(_: DB.Type) -> String {
        let int = DB.integerParameter
        return """
            id, account_id, type, \(DB.emptyBinary), selectors, target_delegate_id, timeout_ms, idempotency_key,
            max_attempts, submitted_by, created_at, scope, status, attempt, delegate_id, lost_attempts, updated_at,
            finished_at, progress_percent, substr(message, 1, \(int)), substr(output, 1, \(int)),
            substr(error, 1, \(int)), exit_code, cancel_requested, secrets, \(DB.byteLengthFunction)(output)
            """
    }

    // The writes, declared once: prepared statements are found by identity, not by hashing their text per row.
    private static let findKey = SQLStatement("SELECT id FROM tasks WHERE account_id = ? AND idempotency_key = ?")
    private static let insertTask = SQLStatement(
        "INSERT INTO tasks (\(Self.taskColumns)) VALUES "
            + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    private static let updateTask = SQLStatement(
        """
        UPDATE tasks SET status = ?, attempt = ?, delegate_id = ?, lost_attempts = ?, updated_at = ?,
        finished_at = ?, progress_percent = ?, message = ?, output = ?, error = ?, exit_code = ?,
        cancel_requested = ? WHERE id = ?
        """)
    private static let appendLog = SQLStatement("INSERT INTO task_logs (task_id, attempt, at, data) VALUES (?, ?, ?, ?)")

    /// Applies a task write (inside the caller's transaction).
    static func performWrite<DB: SQLDatabase>(_ write: StoreWrite, on db: DB) throws(StoreError) {
        switch write {
        case .insertTask(let task):
            if let key = task.idempotencyKey {
                let clash = try db.rows(
                    Self.findKey, [.text(task.accountID), .text(key)], operation: "check idempotency key"
                ) { $0.text(0) }
                if !clash.isEmpty { throw .constraint(TaskConstraintText.duplicateKey(key)) }
            }
            try db.run(
                Self.insertTask,
                [
                    .text(task.id), .text(task.accountID), .text(task.type), .blob(task.payload),
                    .text(try StringList.encode(task.selectors)), Self.optionalText(task.targetDelegateID),
                    .int(task.timeoutMs), Self.optionalText(task.idempotencyKey), .int(Int64(task.maxAttempts)),
                    .text(task.submittedBy), .int(task.createdAt), .text(task.scope.description),
                ] + Self.stateValues(task) + [.text(try TaskSecretList.encode(task.secrets))],
                operation: "insert task")
        case .updateTask(let task):
            let changed = try db.run(
                Self.updateTask, Self.stateValues(task) + [.text(task.id)], operation: "update task")
            if changed == 0 { throw .constraint(TaskConstraintText.missingTask(task.id)) }
        case .appendTaskLog(let record):
            try db.run(
                Self.appendLog,
                [.text(record.taskID), .int(Int64(record.attempt)), .int(record.at), .blob(record.data)],
                operation: "append task log")
        default:
            break
        }
    }

    private static func stateValues(_ task: TaskRecord) -> [SQLValue] {
        [
            .text(task.status.rawValue), .int(Int64(task.attempt)), Self.optionalText(task.delegateID),
            .int(Int64(task.lostAttempts)), .int(task.updatedAt), .int(task.finishedAt),
            .int(Int64(task.progressPercent)), .text(task.message), .blob(task.output), .text(task.error),
            .int(Int64(task.exitCode)), .int(task.cancelRequested ? 1 : 0),
        ]
    }

    private static func optionalText(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }

    /// The task with this id, if any.
    static func task<DB: SQLDatabase>(_ db: DB, id: String) throws(StoreError) -> TaskRecord? {
        try Self.tasks(db, where: "WHERE id = ?", [.text(id)]).first
    }

    /// The task of an account submitted with this idempotency key, if any.
    static func task<DB: SQLDatabase>(
        _ db: DB, accountID: String, idempotencyKey: String
    ) throws(StoreError) -> TaskRecord? {
        try Self.tasks(
            db, where: "WHERE account_id = ? AND idempotency_key = ?", [.text(accountID), .text(idempotencyKey)]
        ).first
    }

    /// Tasks of an account, newest first, at most `limit`, optionally only those in `status`, within a scope.
    static func tasks<DB: SQLDatabase>(
        _ db: DB, accountID: String, status: TaskStatus?, within: Scope, limit: Int
    ) throws(StoreError) -> [TaskRecord] {
        var filter = "WHERE account_id = ?"
        var values: [SQLValue] = [.text(accountID)]
        if let status {
            filter += " AND status = ?"
            values.append(.text(status.rawValue))
        }
        switch within {
        case .account:
            break
        case .org(let org):  // the org itself and its projects (ids are [a-z0-9-], so no LIKE escapes needed)
            filter += " AND (scope = ? OR scope LIKE ?)"
            values += [.text(within.description), .text("project/\(org)/%")]
        case .project:
            filter += " AND scope = ?"
            values.append(.text(within.description))
        }
        values.append(.int(Int64(max(0, limit))))
        return try Self.tasks(db, where: filter + " ORDER BY created_at DESC, id DESC LIMIT ?", values)
    }

    /// Every task not final yet, oldest first.
    static func unfinishedTasks<DB: SQLDatabase>(_ db: DB) throws(StoreError) -> [TaskRecord] {
        try Self.tasks(db, where: "WHERE finished_at IS NULL ORDER BY created_at, id", [])
    }

    /// Log chunks of a task, in arrival order.
    static func taskLogs<DB: SQLDatabase>(_ db: DB, taskID: String) throws(StoreError) -> [TaskLogRecord] {
        try db.rows(
            "SELECT task_id, attempt, at, data FROM task_logs WHERE task_id = ? ORDER BY sequence",
            [.text(taskID)], operation: "read task logs"
        ) { row in
            TaskLogRecord(
                taskID: row.text(0), attempt: UInt32(clamping: row.int(1)), at: row.int(2), data: row.blob(3))
        }
    }

    /// Summaries of an account's tasks, newest first, after `cursor`: payloads are not read, outputs and texts
    /// only up to the summary's bounds.
    static func taskSummaries<DB: SQLDatabase>(
        _ db: DB, accountID: String, status: TaskStatus?, within: Scope, after cursor: TaskListCursor?, limit: Int
    ) throws(StoreError) -> [TaskSummary] {
        var filter = "WHERE account_id = ?"
        // The select list's substr bounds first (message, output, error), then the filter's values.
        let text = Int64(TaskSummary.textPrefixCharacters + 1)
        var values: [SQLValue] = [
            .int(text), .int(Int64(TaskSummary.outputPrefixBytes)), .int(text), .text(accountID),
        ]
        if let status {
            filter += " AND status = ?"
            values.append(.text(status.rawValue))
        }
        switch within {
        case .account:
            break
        case .org(let org):
            filter += " AND (scope = ? OR scope LIKE ?)"
            values += [.text(within.description), .text("project/\(org)/%")]
        case .project:
            filter += " AND scope = ?"
            values.append(.text(within.description))
        }
        if let cursor {
            filter += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            values += [.int(cursor.createdAt), .int(cursor.createdAt), .text(cursor.id)]
        }
        values.append(.int(Int64(max(0, limit))))
        return try db.rows(
            "SELECT \(Self.summaryColumns(DB.self)) FROM tasks \(filter) ORDER BY created_at DESC, id DESC LIMIT ?",
            values, operation: "list tasks"
        ) { (row) throws(StoreError) in
            TaskSummary(cutTexts: try Self.record(row, db: db), outputBytes: Int(row.int(25)))
        }
    }

    private static func tasks<DB: SQLDatabase>(_ db: DB, where filter: String, _ values: [SQLValue])
        throws(StoreError) -> [TaskRecord]
    {
        try db.rows("SELECT \(Self.taskColumns) FROM tasks \(filter)", values, operation: "read tasks") {
            (row) throws(StoreError) in try Self.record(row, db: db)
        }
    }

    private static func record<DB: SQLDatabase>(_ row: DB.Row, db: DB) throws(StoreError) -> TaskRecord {
        guard let status = TaskStatus(rawValue: row.text(12)) else {
            throw .corrupt(path: db.location, reason: "task \(row.text(0)) has unknown status \(row.text(12))")
        }
        guard let scope = try? Scope(parsing: row.text(11)) else {
            throw .corrupt(path: db.location, reason: "task \(row.text(0)) has unknown scope \(row.text(11))")
        }
        var task = TaskRecord(
            id: row.text(0), accountID: row.text(1), type: row.text(2), payload: row.blob(3),
            selectors: try StringList.decode(row.text(4), path: db.location),
            targetDelegateID: row.optionalText(5), timeoutMs: row.int(6), idempotencyKey: row.optionalText(7),
            maxAttempts: UInt32(clamping: row.int(8)), submittedBy: row.text(9), createdAt: row.int(10),
            scope: scope)
        task.status = status
        task.attempt = UInt32(clamping: row.int(13))
        task.delegateID = row.optionalText(14)
        task.lostAttempts = UInt32(clamping: row.int(15))
        task.updatedAt = row.int(16)
        task.finishedAt = row.optionalInt(17)
        task.progressPercent = UInt32(clamping: row.int(18))
        task.message = row.text(19)
        task.output = row.blob(20)
        task.error = row.text(21)
        task.exitCode = Int32(clamping: row.int(22))
        task.cancelRequested = row.int(23) != 0
        task.secrets = try TaskSecretList.decode(row.text(24), path: db.location)
        return task
    }
}
