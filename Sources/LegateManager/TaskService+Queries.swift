import LegateCore
import LegateNet
import LegateStore

// Reads for the admin API (TaskGet, TaskList, TaskWait, TaskLogs) and admin views; all run on the task queue.

/// One page of a task list: summaries, and the position after the last task read when more follow.
struct TaskPage: Sendable {
    var tasks: [TaskSummary]
    var next: TaskListCursor?
}

extension TaskService {
    /// The task as it is now (live state first, else the store).
    func task(id: String, viewer: TaskViewer, reply: @escaping Reply) {
        self.queue.async {
            if let live = self.board.task(id: id), viewer.sees(live) { return reply(.success([live])) }
            self.afterPendingWrites {
                do {
                    guard let stored = try self.store.task(id: id), viewer.sees(stored) else {
                        return reply(.failure(AdminError(code: .notFound, message: "task \(id) does not exist")))
                    }
                    reply(.success([stored]))
                } catch {
                    reply(.failure(AdminError(code: .unavailable, message: "\(error)")))
                }
            }
        }
    }

    /// One page of an account's tasks, newest first, as summaries (live states overriding stored ones), and where
    /// the next page starts when more follow.
    func list(
        viewer: TaskViewer, status: TaskStatus?, limit: Int, after cursor: TaskListCursor?,
        reply: @escaping @Sendable (Result<TaskPage, AdminError>) -> Void
    ) {
        self.queue.async {
            self.afterPendingWrites {
                do {
                    // Every state but `acknowledged` is stored as it is; an acknowledged task is stored as assigned.
                    let stored = try self.store.taskSummaries(
                        accountID: viewer.accountID, status: status == .acknowledged ? .assigned : status,
                        within: viewer.scope, after: cursor, limit: limit + 1)
                    let page = stored.prefix(limit)
                    let next = stored.count > limit ? page.last.map { TaskListCursor(after: $0.task) } : nil
                    let tasks = page.map { summary in
                        self.board.task(id: summary.task.id).map(TaskSummary.init(listing:)) ?? summary
                    }
                    let shown = tasks.filter { status == nil || $0.task.status == status }
                    reply(.success(TaskPage(tasks: shown, next: next)))
                } catch {
                    reply(.failure(AdminError(code: .unavailable, message: "\(error)")))
                }
            }
        }
    }

    /// Answers once every task is final or `timeout` passed on the service's clock (then with the tasks as they
    /// are).
    func wait(ids: [String], viewer: TaskViewer, timeout: Duration, reply: @escaping SummaryReply) {
        self.queue.async {
            var pending: Set<String> = []
            for id in ids {
                if let live = self.board.task(id: id), viewer.sees(live) { pending.insert(id) }
            }
            let waiter = TaskWaiters.Waiter(
                ids: ids, viewer: viewer, pending: pending,
                deadline: self.clock.unixMilliseconds() + timeout.int64Milliseconds, reply: reply)
            if pending.isEmpty { return self.answer(waiter) }
            self.waiters.add(waiter)
        }
    }

    /// The stored log of a task (after every chunk received so far is stored).
    func logs(id: String, viewer: TaskViewer, reply: @escaping @Sendable (Result<([TaskLogRecord], Bool), AdminError>) -> Void) {
        self.queue.async {
            self.afterPendingWrites {
                do {
                    guard let task = try self.store.task(id: id), viewer.sees(task) else {
                        return reply(.failure(AdminError(code: .notFound, message: "task \(id) does not exist")))
                    }
                    let chunks = try self.store.taskLogs(taskID: task.id)
                    let total = chunks.reduce(0) { $0 + $1.data.count }
                    reply(.success((chunks, total >= self.configuration.maxLogBytesPerTask)))
                } catch {
                    reply(.failure(AdminError(code: .unavailable, message: "\(error)")))
                }
            }
        }
    }

    /// Why a queued task waits; call only on `queue` (the replies of the admin calls run there).
    func waitingReason(for task: TaskRecord) -> String {
        self.board.waitingReason(for: task)
    }

    /// Capacity and tasks held of a delegate that may receive tasks (for admin views); blocks briefly.
    func load(delegateID: String) -> (capacity: Int, held: Int)? {
        self.queue.sync { self.board.slot(delegateID: delegateID).map { ($0.capacity, $0.held.count) } }
    }
}
