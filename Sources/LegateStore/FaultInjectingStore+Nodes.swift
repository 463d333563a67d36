public import LegateCore

// Node leases and controls pass through unfaulted: a test that fails writes chooses them by apply count, and the
// manager renews its lease on its own timer.

extension FaultInjectingStore {
    /// Passes through.
    public func adoptNode(_ nodeID: String) { self.wrappedStore.adoptNode(nodeID) }

    /// Passes through.
    public func notify(nodeIDs: [String]) throws(StoreError) { try self.wrappedStore.notify(nodeIDs: nodeIDs) }

    /// Passes through.
    public func listen(nodeID: String, wake: @escaping @Sendable () -> Void) -> (any NodeNotificationListening)? {
        self.wrappedStore.listen(nodeID: nodeID, wake: wake)
    }

    /// Passes through.
    @discardableResult
    public func renewNode(_ node: NodeRecord) throws(StoreError) -> Bool { try self.wrappedStore.renewNode(node) }

    /// Passes through.
    public func nodes() throws(StoreError) -> [NodeRecord] { try self.wrappedStore.nodes() }

    /// Passes through.
    public func removeExpiredNodes(lastSeenBefore cutoff: Int64, keeping: String, now: Int64) throws(StoreError)
        -> [String]
    {
        try self.wrappedStore.removeExpiredNodes(lastSeenBefore: cutoff, keeping: keeping, now: now)
    }

    /// Passes through.
    public func pendingControls(nodeID: String, limit: Int) throws(StoreError) -> [NodeControl] {
        try self.wrappedStore.pendingControls(nodeID: nodeID, limit: limit)
    }

    /// Passes through.
    public func completeControl(_ control: NodeControl) throws(StoreError) {
        try self.wrappedStore.completeControl(control)
    }

    /// Passes through.
    public func controls(ids: [String]) throws(StoreError) -> [NodeControl] { try self.wrappedStore.controls(ids: ids) }

    /// Passes through.
    public func deleteFinishedControls(before cutoff: Int64) throws(StoreError) -> Int {
        try self.wrappedStore.deleteFinishedControls(before: cutoff)
    }
}
