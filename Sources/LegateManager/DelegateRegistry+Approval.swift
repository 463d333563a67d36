import LegateCore
import LegateWire

// MARK: - Approval state in the registry

extension DelegateRegistry {
    /// Replaces the record of an existing delegate (after a durable approval, rejection or expiry); returns
    /// whether it was known.
    @discardableResult
    public func update(_ record: DelegateRecord) -> Bool {
        self.modify { state in
            guard state.records[record.id] != nil else { return false }
            state.records[record.id] = record
            self.track(record, in: &state)
            return true
        }
    }

    /// Forgets a delegate (deleted) and detaches its connection, which then closes without writing the record.
    @discardableResult
    public func remove(delegateID: String) -> DelegateRecord? {
        self.modify { state in
            guard let record = state.records.removeValue(forKey: delegateID) else { return nil }
            state.idByInstance[Self.instanceKey(record.accountID, record.instanceID)] = nil
            state.live[delegateID] = nil
            state.liveByToken[record.tokenID]?.remove(delegateID)
            var gone = record
            gone.status = .rejected  // untracks it
            self.track(gone, in: &state)
            return record
        }
    }

    /// The connection attached for `delegateID`, if connected.
    public func connection(delegateID: String) -> (any LiveDelegateConnection)? {
        self.withState { $0.live[delegateID] }
    }

    /// Pending records whose expiry passed at `now` (Unix ms).
    public func expiredPending(now: Int64) -> [DelegateRecord] {
        guard self.hasPending else { return [] }
        return self.withState { state in
            state.pending.compactMap { state.records[$0] }.filter { ($0.pendingExpiresAt ?? .max) <= now }
        }
    }
}
