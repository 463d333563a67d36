import LegateCore
import LegateStore

// Delegate decisions and deletes across manager nodes: announced with the change, applied by the node that holds
// the delegate's connection.

extension ApprovalService {
    /// One `kind` control per delegate in `ids` for every other live node. A store failure becomes UNAVAILABLE.
    func announce(_ ids: [String], _ kind: NodeControlKind) throws(AdminError) -> [NodeControl] {
        let peers: [String]
        do throws(StoreError) {
            peers = try self.cluster.livePeers()
        } catch {
            throw error.adminError
        }
        return ids.flatMap { self.cluster.controls(kind, subject: $0, peers: peers) }
    }

    /// Applies a delegate record changed on another node (`stored`, as it is now in the store): a delegate
    /// connected here and pending is told the decision; any other record is just refreshed. Returns how many
    /// delegates were told.
    func applyChange(_ stored: DelegateRecord) -> Int {
        defer { self.liveRegistry.membershipMayHaveChanged() }
        guard let local = self.liveRegistry.record(id: stored.id),
            self.liveRegistry.connection(delegateID: stored.id) != nil
        else {
            if !self.liveRegistry.update(stored) { self.liveRegistry.load([stored]) }
            return 0
        }
        guard local.status == .pending, stored.status != .pending else { return 0 }
        var record = local
        let approved = stored.status != .rejected
        record.status = approved ? .active : .rejected
        record.decisionReason = stored.decisionReason
        record.pendingExpiresAt = nil
        self.liveRegistry.update(record)
        // The deciding node did not hold the connection, so it stored the delegate as disconnected.
        self.durableWriter.submit([.upsertDelegate(record)])
        return self.tell([record], approve: approved, reason: stored.decisionReason ?? "")
    }

    /// Applies a delete made on another node: a delegate connected here is told SELF_DESTRUCT and forgotten.
    /// Returns the control's counts (connected, told, acknowledged).
    func applyDelete(delegateID: String) -> (connected: Int, told: Int, acknowledged: Int) {
        guard let record = self.liveRegistry.record(id: delegateID) else { return (0, 0, 0) }
        var report = FanOutReport()
        if let connection = self.liveRegistry.connection(delegateID: delegateID) {
            let reason = "delegate \(delegateID) was deleted by an administrator"
            report = self.pushFanOut.push(
                to: [connection], awaiting: .acknowledgement, deadline: Self.pushTimeout,
                send: { connection, progress in
                    connection.pushSelfDestructOnLoop(reason: reason, tokenID: record.tokenID, progress: progress)
                },
                afterDeadline: { $0.closeIfSelfDestructUnacknowledged() })
        }
        self.liveRegistry.remove(delegateID: delegateID)
        self.liveRegistry.membershipMayHaveChanged()
        return (report.connected, report.told, report.acknowledged)
    }
}
