public import LegateCore

/// The part of the store several managers share to act as one fleet: the node table with its leases, and the
/// control queue through which one node tells another what changed. With one manager (SQLite) the same calls
/// run, with one node.
public protocol NodeStore: Sendable {
    /// Inserts `node` or renews its lease (its address, start time and `lastSeenAt` are written); returns
    /// whether the node was registered already (false: first start, or another node took it for dead).
    @discardableResult
    func renewNode(_ node: NodeRecord) throws(StoreError) -> Bool
    /// Every registered node by id, each with the number of delegates whose session record names it.
    func nodes() throws(StoreError) -> [NodeRecord]
    /// Removes the nodes whose lease was last renewed before `cutoff` (never `keeping`), in one transaction with
    /// the session records of their delegates (marked disconnected at `now`) and their queued controls; their
    /// unfinished tasks become `keeping`'s. Returns the removed ids.
    func removeExpiredNodes(lastSeenBefore cutoff: Int64, keeping: String, now: Int64) throws(StoreError) -> [String]
    /// Controls queued for `nodeID` and not done yet, at most `limit`, in the order the node applies them: delegate
    /// announcements (`waitsBehindOthers`) after every other kind, oldest first within each.
    func pendingControls(nodeID: String, limit: Int) throws(StoreError) -> [NodeControl]
    /// Writes what the receiver did with a control (`doneAt` and the counts).
    func completeControl(_ control: NodeControl) throws(StoreError)
    /// The controls with these ids that still exist (the issuer reads their outcomes).
    func controls(ids: [String]) throws(StoreError) -> [NodeControl]
    /// Deletes controls finished before `cutoff`; returns how many went.
    func deleteFinishedControls(before cutoff: Int64) throws(StoreError) -> Int
    /// Makes this store act for node `nodeID`: tasks inserted from now on are owned by it, and
    /// `unfinishedTasks()` leaves out the tasks other nodes own, so one node's recovery and lease sweeps never
    /// touch another's tasks. Tasks owned by nobody (inserted before) stay everyone's. The in-memory store
    /// serves one process and ignores it.
    func adoptNode(_ nodeID: String)
    /// Wakes the nodes in `nodeIDs` (their queues have new controls): PostgreSQL sends `NOTIFY` on each node's
    /// channel; stores without notifications do nothing (nodes poll anyway). Call it after the commit.
    func notify(nodeIDs: [String]) throws(StoreError)
    /// Calls `wake` whenever `notify` names `nodeID`, from a thread of the store's, until the returned listener
    /// is stopped; nil when the store has no notifications.
    func listen(nodeID: String, wake: @escaping @Sendable () -> Void) -> (any NodeNotificationListening)?
}

/// A running notification listener.
public protocol NodeNotificationListening: Sendable {
    /// Stops listening and waits until the listener's thread ended.
    func stop()
}

extension NodeStore {
    /// The notification channel of a node.
    static func channel(of nodeID: String) -> String { "legate_node_" + nodeID }
}

/// The node and control statements of the SQLite and PostgreSQL stores, written once over `SQLDatabase`.
enum SQLNodeTables {
    private static let controlColumns =
        "id, node_id, kind, subject, detail, created_at, done_at, connected, told, acknowledged"

    /// Inserts a control row (inside the caller's transaction).
    static func insertControl<DB: SQLDatabase>(_ control: NodeControl, on db: DB) throws(StoreError) {
        try db.run(
            "INSERT INTO node_controls (\(Self.controlColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(control.id), .text(control.nodeID), .text(control.kind.rawValue), .text(control.subject),
                .text(control.detail), .int(control.createdAt), .int(control.doneAt), .int(Int64(control.connected)),
                .int(Int64(control.told)), .int(Int64(control.acknowledged)),
            ], operation: "queue node control")
    }

    /// Inserts or renews a node.
    static func renew<DB: SQLDatabase>(_ node: NodeRecord, on db: DB) throws(StoreError) -> Bool {
        let existed = try db.rows("SELECT 1 FROM nodes WHERE id = ?", [.text(node.id)], operation: "read node") { _ in 1 }
        try db.run(
            """
            INSERT INTO nodes (id, address, started_at, last_seen_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET address = excluded.address, started_at = excluded.started_at,
            last_seen_at = excluded.last_seen_at
            """, [.text(node.id), .text(node.address), .int(node.startedAt), .int(node.lastSeenAt)],
            operation: "renew node lease")
        return !existed.isEmpty
    }

    /// Every node with its delegate count.
    static func nodes<DB: SQLDatabase>(_ db: DB) throws(StoreError) -> [NodeRecord] {
        try db.rows(
            """
            SELECT n.id, n.address, n.started_at, n.last_seen_at,
            (SELECT count(*) FROM delegates d WHERE d.node_id = n.id) FROM nodes n ORDER BY n.id
            """, [], operation: "read nodes"
        ) { row in
            NodeRecord(
                id: row.text(0), address: row.text(1), startedAt: row.int(2), lastSeenAt: row.int(3),
                connectedDelegates: Int(row.int(4)))
        }
    }

    /// Removes expired nodes with their sessions and queued controls (inside the caller's transaction).
    static func removeExpired<DB: SQLDatabase>(
        _ db: DB, lastSeenBefore cutoff: Int64, keeping: String, now: Int64
    ) throws(StoreError) -> [String] {
        let expired = try db.rows(
            "SELECT id FROM nodes WHERE last_seen_at < \(DB.bigintParameter) AND id <> ? ORDER BY id",
            [.int(cutoff), .text(keeping)], operation: "find expired nodes") { $0.text(0) }
        var removed: [String] = []
        for id in expired {
            // The delete claims the removal: of two nodes sweeping at once, the second deletes nothing and skips.
            let claimed = try db.run(
                "DELETE FROM nodes WHERE id = ? AND last_seen_at < \(DB.bigintParameter)", [.text(id), .int(cutoff)],
                operation: "remove expired node")
            guard claimed == 1 else { continue }
            removed.append(id)
            try db.run(
                """
                UPDATE delegates SET status = CASE WHEN status = 'active' THEN 'disconnected' ELSE status END,
                connected_since = NULL, disconnected_at = \(DB.bigintParameter), node_id = NULL WHERE node_id = ?
                """, [.int(now), .text(id)], operation: "clear sessions of expired node")
            try db.run(
                "DELETE FROM node_controls WHERE node_id = ? AND done_at IS NULL", [.text(id)],
                operation: "drop controls of expired node")
            // Its unfinished tasks become the remover's, which queues them again as new attempts.
            try db.run(
                "UPDATE task_owners SET node_id = ? WHERE node_id = ?", [.text(keeping), .text(id)],
                operation: "take over tasks of expired node")
        }
        return removed
    }

    /// Queued controls of a node.
    static func pending<DB: SQLDatabase>(_ db: DB, nodeID: String, limit: Int) throws(StoreError) -> [NodeControl] {
        try db.rows(
            "SELECT \(Self.controlColumns) FROM node_controls WHERE node_id = ? AND done_at IS NULL "
                + "ORDER BY kind = '\(NodeControlKind.delegateChanged.rawValue)', created_at, id "
                + "LIMIT \(max(0, limit))",
            [.text(nodeID)], operation: "read queued node controls"
        ) { (row) throws(StoreError) in try Self.control(row) }
    }

    /// Writes a control's outcome.
    static func complete<DB: SQLDatabase>(_ control: NodeControl, on db: DB) throws(StoreError) {
        try db.run(
            "UPDATE node_controls SET done_at = ?, connected = ?, told = ?, acknowledged = ? WHERE id = ?",
            [
                .int(control.doneAt), .int(Int64(control.connected)), .int(Int64(control.told)),
                .int(Int64(control.acknowledged)), .text(control.id),
            ], operation: "complete node control")
    }

    /// Controls by id.
    static func controls<DB: SQLDatabase>(_ db: DB, ids: [String]) throws(StoreError) -> [NodeControl] {
        // Fixed-size chunks (the last padded with a repeated id), so one prepared statement serves every call.
        let chunk = 32
        let placeholders = Array(repeating: "?", count: chunk).joined(separator: ", ")
        var found: [String: NodeControl] = [:]
        var start = 0
        while start < ids.count {
            var values = ids[start..<min(start + chunk, ids.count)].map { SQLValue.text($0) }
            while values.count < chunk, let last = values.last { values.append(last) }
            let rows = try db.rows(
                "SELECT \(Self.controlColumns) FROM node_controls WHERE id IN (\(placeholders))", values,
                operation: "read node controls"
            ) { (row) throws(StoreError) in try Self.control(row) }
            for control in rows { found[control.id] = control }
            start += chunk
        }
        return ids.compactMap { found[$0] }
    }

    /// Deletes old finished controls.
    static func deleteFinished<DB: SQLDatabase>(_ db: DB, before cutoff: Int64) throws(StoreError) -> Int {
        try db.run(
            "DELETE FROM node_controls WHERE done_at IS NOT NULL AND done_at < \(DB.bigintParameter)", [.int(cutoff)],
            operation: "delete finished node controls")
    }

    /// Records `taskID` as owned by `nodeID` (inside the caller's transaction, with the task's insert).
    static func own<DB: SQLDatabase>(_ taskID: String, by nodeID: String, on db: DB) throws(StoreError) {
        try db.run(
            "INSERT INTO task_owners (task_id, node_id) VALUES (?, ?)", [.text(taskID), .text(nodeID)],
            operation: "record task owner")
    }

    /// Unfinished tasks, without those another node owns.
    static func unfinishedTasks<DB: SQLDatabase>(_ db: DB, owner: String?) throws(StoreError) -> [TaskRecord] {
        let all = try SQLTaskTables.unfinishedTasks(db)
        guard let owner else { return all }
        let foreign = Set(
            try db.rows(
                """
                SELECT o.task_id FROM task_owners o JOIN tasks t ON t.id = o.task_id
                WHERE t.finished_at IS NULL AND o.node_id <> ?
                """, [.text(owner)], operation: "read task owners") { $0.text(0) })
        return foreign.isEmpty ? all : all.filter { !foreign.contains($0.id) }
    }

    private static func control<Row: SQLRowReading>(_ row: Row) throws(StoreError) -> NodeControl {
        guard let kind = NodeControlKind(rawValue: row.text(2)) else {
            throw .corrupt(path: "node_controls", reason: "control \(row.text(0)) has unknown kind \(row.text(2))")
        }
        return NodeControl(
            id: row.text(0), nodeID: row.text(1), kind: kind, subject: row.text(3), detail: row.text(4),
            createdAt: row.int(5), doneAt: row.optionalInt(6), connected: Int(row.int(7)), told: Int(row.int(8)),
            acknowledged: Int(row.int(9)))
    }
}
