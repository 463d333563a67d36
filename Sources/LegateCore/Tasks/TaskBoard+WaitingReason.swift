// Why a queued task waits: the scheduler's view put in words an operator can act on.

extension TaskBoard {
    /// Why a queued task has not been placed, in words an operator can act on.
    public func waitingReason(for task: TaskRecord) -> String {
        guard task.status == .queued else { return "" }
        let account = self.slots.filter { $0.accountID == task.accountID && $0.scope.covers(task.scope) }
        let within = task.scope == .account ? "" : " in scope \(task.scope) or above"
        if let target = task.targetDelegateID {
            guard let slot = account.first(where: { $0.delegateID == target }) else {
                return "target delegate \(target) is not connected and active\(within)"
            }
            if !slot.taskTypes.contains(task.type) { return "target delegate \(target) does not support '\(task.type)'" }
            if !Set(task.selectors).isSubset(of: slot.tags) {
                return "target delegate \(target) lacks tags \(Self.missing(task.selectors, slot.tags))"
            }
            if let reason = self.secretWaitingReason(for: task, among: [slot]) { return reason }
            return slot.free > 0 ? "waiting for dispatch" : "target delegate \(target) is at capacity \(slot.capacity)"
        }
        let typed = account.filter { $0.taskTypes.contains(task.type) }
        if typed.isEmpty { return "no connected active delegate\(within) supports task type '\(task.type)'" }
        let tagged = typed.filter { Set(task.selectors).isSubset(of: $0.tags) }
        if tagged.isEmpty {
            return "no connected active delegate\(within) supporting '\(task.type)' has all tags \(task.selectors.sorted())"
        }
        if let reason = self.secretWaitingReason(for: task, among: tagged) { return reason }
        if tagged.allSatisfy({ $0.free <= 0 }) { return "all \(tagged.count) eligible delegates are at capacity" }
        return "waiting for dispatch"
    }

    fileprivate static func missing(_ selectors: [String], _ tags: Set<String>) -> [String] {
        selectors.filter { !tags.contains($0) }.sorted()
    }
}
