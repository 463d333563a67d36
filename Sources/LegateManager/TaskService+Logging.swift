import LegateCore

extension TaskService {
    /// One debug line per task transition (only built when debug lines are recorded).
    func logTransitions(_ effects: [TaskBoard.Effect]) {
        for effect in effects {
            switch effect {
            case .store(let task), .assign(let task), .finished(let task):
                self.log.log(
                    .debug, "task transition",
                    ["task.id": task.id, "state": task.status.rawValue, "attempt": "\(task.attempt)",
                     "delegate.id": task.delegateID ?? "-"])
            case .cancelAttempt(let taskID, let attempt, let delegateID, let reason):
                self.log.log(
                    .debug, "task attempt cancelled",
                    ["task.id": taskID, "attempt": "\(attempt)", "delegate.id": delegateID, "reason": reason])
            }
        }
    }
}
