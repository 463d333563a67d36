import LegateCore
import LegateStore

// Tasks of a manager node that died: once its lease ran out, the node that removed it owns them and queues them
// again here, as new attempts.

extension TaskService {
    /// Reads this node's unfinished tasks and queues those the board does not hold yet (taken over from an
    /// expired node). Blocking (a store read); the board work runs on the task queue.
    func adoptUnfinishedTasks() {
        let unfinished: [TaskRecord]
        do throws(StoreError) {
            unfinished = try self.store.unfinishedTasks()
        } catch {
            self.log.log(.warning, "tasks of an expired node not taken over yet", ["error": error.description])
            return
        }
        self.queue.async {
            let now = self.clock.unixMilliseconds()
            var effects: [TaskBoard.Effect] = []
            var adopted = 0
            for task in unfinished where self.board.task(id: task.id) == nil {
                effects += self.board.enqueue(task, now: now)
                adopted += 1
            }
            guard adopted > 0 else { return }
            self.perform(effects)
            self.scheduleDispatch()
            self.log.log(.info, "tasks of an expired node taken over", ["count": "\(adopted)"])
        }
    }
}
