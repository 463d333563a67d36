// Routing of tasks that use secrets: only a delegate holding a sealed copy of each ring's current key may run
// them. Tasks without secrets never reach this code.

extension TaskBoard.Slot {
    /// Whether the delegate holds the current ring key of every ring the task's secrets are sealed to.
    func holdsRings(of task: TaskRecord) -> Bool {
        task.secrets.allSatisfy { self.rings.contains($0.ringID) }
    }
}

extension TaskBoard {
    /// Sets the rings a delegate holds current copies of (it gained or lost a copy); returns whether a slot
    /// changed. A delegate not available now gets its rings with its slot when it becomes available.
    @discardableResult
    public mutating func setRings(_ rings: Set<String>, delegateID: String) -> Bool {
        guard let position = self.slotIndex[delegateID] else { return false }
        self.slots[position].rings = rings
        return true
    }

    /// The task when `delegateID` holds its current attempt `attempt`; otherwise the refusal its reports get (a
    /// secret opening is accepted only from the holder of the attempt it was sent for).
    public func heldAttempt(taskID: String, attempt: UInt32, delegateID: String) -> Result<TaskRecord, Refusal> {
        self.checkHolder(taskID: taskID, attempt: attempt, delegateID: delegateID)
    }

    /// Why a queued task using secrets waits, when its rings are the reason; nil otherwise.
    func secretWaitingReason(for task: TaskRecord, among candidates: [Slot]) -> String? {
        guard !task.secrets.isEmpty, !candidates.contains(where: { $0.holdsRings(of: task) }) else { return nil }
        let missing = task.secrets.filter { use in !candidates.contains { $0.rings.contains(use.ringID) } }
        let rings = Set((missing.isEmpty ? task.secrets : missing).map { $0.ringName.isEmpty ? $0.ringID : $0.ringName })
        return "no connected eligible delegate is a member of key ring \(rings.sorted().joined(separator: ", ")) "
            + "holding its ring key (secret \(task.secrets.map(\.secretName).joined(separator: ", ")))"
    }
}
