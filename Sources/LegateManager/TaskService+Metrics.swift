import LegateCore

extension TaskService {
    /// Live tasks by state, read on the service queue. Blocks briefly: call it off the event loops.
    func liveTaskCounts() -> [TaskStatus: Int] {
        self.queue.sync {
            var counts: [TaskStatus: Int] = [:]
            for task in self.board.liveTasks { counts[task.status, default: 0] += 1 }
            return counts
        }
    }
}
