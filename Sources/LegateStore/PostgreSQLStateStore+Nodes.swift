public import LegateCore

// The node table and control queue of this store: the statements live once, in SQLNodeTables.

extension PostgreSQLStateStore {
    /// Sends `NOTIFY` on each node's channel, on the read connection (never inside a write transaction).
    public func notify(nodeIDs: [String]) throws(StoreError) {
        try self.read { (db) throws(StoreError) in
            for id in Set(nodeIDs) {
                _ = try db.query(
                    "SELECT pg_notify(?, '')", [.text(Self.channel(of: id))], operation: "notify node") { _ in 0 }
            }
        }
    }

    /// Listens for `NOTIFY` on the node's channel over a connection of its own.
    public func listen(nodeID: String, wake: @escaping @Sendable () -> Void) -> (any NodeNotificationListening)? {
        PostgreSQLNotificationListener(
            url: self.url, address: self.address, channel: Self.channel(of: nodeID), wake: wake)
    }

    /// Tasks inserted from now on are owned by `nodeID`; other nodes' unfinished tasks are not reloaded.
    public func adoptNode(_ nodeID: String) { self.owner.withLock { $0 = nodeID } }

    /// Inserts the node or renews its lease.
    @discardableResult
    public func renewNode(_ node: NodeRecord) throws(StoreError) -> Bool {
        var existed = false
        try self.apply(nodeWrite: { (db) throws(StoreError) in existed = try SQLNodeTables.renew(node, on: db) })
        return existed
    }

    /// Every node with its delegate count.
    public func nodes() throws(StoreError) -> [NodeRecord] {
        try self.read { (db) throws(StoreError) in try SQLNodeTables.nodes(db) }
    }

    /// Removes expired nodes, their sessions and their queued controls in one transaction.
    public func removeExpiredNodes(lastSeenBefore cutoff: Int64, keeping: String, now: Int64) throws(StoreError)
        -> [String]
    {
        var removed: [String] = []
        try self.apply(nodeWrite: { (db) throws(StoreError) in
            removed = try SQLNodeTables.removeExpired(db, lastSeenBefore: cutoff, keeping: keeping, now: now)
        })
        return removed
    }

    /// Queued controls of a node, oldest first.
    public func pendingControls(nodeID: String, limit: Int) throws(StoreError) -> [NodeControl] {
        try self.read { (db) throws(StoreError) in try SQLNodeTables.pending(db, nodeID: nodeID, limit: limit) }
    }

    /// Writes a control's outcome.
    public func completeControl(_ control: NodeControl) throws(StoreError) {
        try self.apply(nodeWrite: { (db) throws(StoreError) in try SQLNodeTables.complete(control, on: db) })
    }

    /// Controls by id.
    public func controls(ids: [String]) throws(StoreError) -> [NodeControl] {
        try self.read { (db) throws(StoreError) in try SQLNodeTables.controls(db, ids: ids) }
    }

    /// Deletes old finished controls.
    public func deleteFinishedControls(before cutoff: Int64) throws(StoreError) -> Int {
        var deleted = 0
        try self.apply(nodeWrite: { (db) throws(StoreError) in
            deleted = try SQLNodeTables.deleteFinished(db, before: cutoff)
        })
        return deleted
    }

    private func apply(nodeWrite body: (PostgreSQLConnection) throws(StoreError) -> Void) throws(StoreError) {
        _ = try self.write { (db) throws(StoreError) -> Int in
            try body(db)
            return 0
        }
    }
}
