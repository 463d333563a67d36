import LegateCore
import LegateNet
import LegateStore

// Reads for the admin API (TaskGet, TaskList, TaskWait, TaskLogs) and admin views; all run on the task queue.

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

    /// Tasks of an account, newest first, live states overriding stored ones.
    func list(viewer: TaskViewer, status: TaskStatus?, limit: Int, reply: @escaping Reply) {
        self.queue.async {
            let live = Dictionary(uniqueKeysWithValues: self.board.liveTasks.map { ($0.id, $0) })
            self.afterPendingWrites {
                do {
                    let stored = try self.store.tasks(
                        accountID: viewer.accountID, status: nil, within: viewer.scope, limit: limit + live.count)
                    let merged = stored.map { live[$0.id] ?? $0 }.filter { status == nil || $0.status == status }
                    reply(.success(Array(merged.prefix(limit))))
                } catch {
                    reply(.failure(AdminError(code: .unavailable, message: "\(error)")))
                }
            }
        }
    }

    /// Answers once every task is final or `timeout` passed on the service's clock (then with the tasks as they
    /// are).
    func wait(ids: [String], viewer: TaskViewer, timeout: Duration, reply: @escaping Reply) {
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
