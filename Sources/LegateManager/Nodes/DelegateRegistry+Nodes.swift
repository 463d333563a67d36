import LegateCore

// The sessions this node holds, for writing them again after another node cleared them.

extension DelegateRegistry {
    /// The records of the delegates connected here.
    func connectedRecords() -> [DelegateRecord] {
        self.withState { state in state.live.keys.compactMap { state.records[$0] } }
    }
}

extension ManagerServices {
    /// Writes the session records of the delegates connected here again: another node took this one for dead
    /// (its lease could not be renewed for a while) and cleared them.
    func rewriteSessions() {
        let records = self.registry.connectedRecords()
        guard !records.isEmpty else { return }
        self.writer.submit(records.map { .upsertDelegate($0) })
    }
}
