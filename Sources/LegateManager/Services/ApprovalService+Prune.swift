import LegateCore
import LegateStore
import LegateWire

// MARK: - Prune: stale delegate records go, in one durable batch with its audit row.

extension ApprovalService {
    /// Removes the records of visible delegates disconnected, and not connected now, for at least
    /// `disconnectedFor` milliseconds, and of every destroyed one (pending and rejected ones are kept: they still
    /// decide what a returning delegate gets). Returns the ids removed, or that would be with `dryRun`. Blocking.
    func prune(disconnectedFor: Int64, dryRun: Bool, session: AdminSession) throws(AdminError) -> [String] {
        guard disconnectedFor > 0 else {
            throw .invalidArgument("--disconnected-for must be a positive duration such as 24h")
        }
        let cutoff = self.now() - disconnectedFor
        let stale = try self.delegateQueries.records(session: session).filter { record in
            guard !self.liveRegistry.isConnected(record.id) else { return false }
            return record.status == .destroyed
                || (record.status == .disconnected
                    && (record.disconnectedAt ?? record.lastHeartbeatAt ?? record.firstSeenAt) <= cutoff)
        }
        if dryRun { return stale.map(\.id).sorted() }
        // Delegates a decision or delete is writing now are left for the next prune.
        let reserved = self.reservations.reserveFree(stale.map(\.id))
        defer { self.reservations.release(reserved) }
        var removed: [DelegateRecord] = []
        for record in stale where reserved.contains(record.id) && !self.liveRegistry.isConnected(record.id) {
            // Forgotten before the store deletes it, as delete does, so nothing writes the record back.
            if self.liveRegistry.remove(delegateID: record.id) != nil { removed.append(record) }
        }
        guard !removed.isEmpty else { return [] }
        let ids = removed.map(\.id).sorted()
        let row = AuditRecord(
            at: self.now(), accountID: session.accountID, actor: session.actor, action: "delegate.prune",
            target: "\(ids.count) delegates", outcome: "ok",
            detail: "disconnected for at least \(disconnectedFor / 1000) s: " + ids.prefix(50).joined(separator: ",")
                + (ids.count > 50 ? " and \(ids.count - 50) more" : ""))
        do throws(StoreError) {
            try self.durableWriter.writeDurably(removed.map { .deleteDelegate(id: $0.id) } + [.appendAudit(row)])
        } catch {
            self.liveRegistry.load(removed)
            throw error.adminError
        }
        return ids
    }

    /// Registers DelegatePrune.
    func registerPruneRoute(into router: AdminRouter) {
        router.register(.delegatePrune, permissions: [.delegateDelete]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(DelegatePruneRequest.self, payload)
            let ids = try self.prune(
                disconnectedFor: request.disconnectedForMs, dryRun: request.dryRun, session: session)
            var response = DelegatePruneResponse()
            response.removed = UInt32(clamping: ids.count)
            response.delegateIds = ids
            response.dryRun = request.dryRun
            return response.protoBytes()
        }
    }
}
