import LegateCore
import LegateStore

/// Who asks about tasks: an admin key's account and scope. It sees a task of its account whose scope it covers.
struct TaskViewer: Sendable {
    let accountID: String
    let scope: Scope

    /// Whether this key may see (and act on) `task`.
    func sees(_ task: TaskRecord) -> Bool {
        task.accountID == self.accountID && self.scope.covers(task.scope)
    }
}

/// TaskWait calls waiting for tasks to become final, indexed by task.
struct TaskWaiters {
    /// One TaskWait call.
    struct Waiter {
        let ids: [String]
        let viewer: TaskViewer
        var pending: Set<String>
        let deadline: Int64
        let reply: TaskService.SummaryReply
    }

    private var waiters: [Int: Waiter] = [:]
    private var byTask: [String: [Int]] = [:]
    private var nextID = 0

    /// Registers a waiter with at least one pending task.
    mutating func add(_ waiter: Waiter) {
        let id = self.nextID
        self.nextID += 1
        self.waiters[id] = waiter
        for taskID in waiter.pending { self.byTask[taskID, default: []].append(id) }
    }

    /// A task became final: returns the waiters that have nothing left to wait for.
    mutating func taskFinished(_ taskID: String) -> [Waiter] {
        guard let ids = self.byTask.removeValue(forKey: taskID) else { return [] }
        var done: [Waiter] = []
        for id in ids {
            // Through the index, in place: a copied Waiter would share its pending set with the stored one, so
            // each remove would copy the whole set (a TaskWait for N tasks paid O(N) per finished task).
            guard let index = self.waiters.index(forKey: id) else { continue }
            self.waiters.values[index].pending.remove(taskID)
            if self.waiters.values[index].pending.isEmpty { done.append(self.waiters.remove(at: index).value) }
        }
        return done
    }

    /// Removes and returns the waiters whose deadline passed.
    mutating func expired(now: Int64) -> [Waiter] {
        let ids = self.waiters.filter { now >= $0.value.deadline }.map(\.key)
        return ids.compactMap { id in
            guard let waiter = self.waiters.removeValue(forKey: id) else { return nil }
            for taskID in waiter.pending {
                self.byTask[taskID]?.removeAll { $0 == id }
                if self.byTask[taskID]?.isEmpty == true { self.byTask[taskID] = nil }
            }
            return waiter
        }
    }
}

/// Task writes gathered while the previous batch is being stored: inserts in order, the latest state of each
/// task, log chunks, and what to do once they are durable.
struct TaskWriteBatch {
    var inserts: [StoreWrite] = []
    var updates: [String: TaskRecord] = [:]
    var logs: [StoreWrite] = []
    var completions: [@Sendable (StoreError?) -> Void] = []

    var isEmpty: Bool { self.inserts.isEmpty && self.updates.isEmpty && self.logs.isEmpty && self.completions.isEmpty }

    /// Inserts first (an update may follow its insert), then states, then logs.
    var writes: [StoreWrite] {
        self.inserts + self.updates.values.map { .updateTask($0) } + self.logs
    }
}

/// The most recently finished tasks (without payloads), so TaskWait and TaskGet answer without a store read.
/// Bounded in count and in bytes: the oldest are forgotten beyond either, and a task whose output or texts are
/// large is not kept at all (it is read from the store).
struct RecentTasks {
    /// Largest output kept in memory.
    static let maxOutputBytes = 2048
    /// Largest estimated size of one remembered task.
    static let maxEntryBytes = 8192
    /// Estimated bytes of a remembered task beyond its variable fields (record, dictionary entry, order slot).
    static let fixedEntryBytes = 256

    private struct Entry {
        var task: TaskRecord
        var cost: Int
    }

    private var tasks: [String: Entry] = [:]
    private var order: [String] = []
    private var head = 0
    /// Most tasks remembered.
    let capacity: Int
    /// Most bytes (estimated) remembered.
    let maxBytes: Int
    /// Bytes (estimated) remembered now.
    private(set) var bytes = 0

    init(capacity: Int, maxBytes: Int) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(0, maxBytes)
    }

    /// Estimated memory of a remembered (payload-less) task.
    static func cost(of task: TaskRecord) -> Int {
        var cost = Self.fixedEntryBytes + task.output.count + task.id.utf8.count + task.type.utf8.count
        cost += task.error.utf8.count + task.message.utf8.count + task.submittedBy.utf8.count
        cost += (task.delegateID?.utf8.count ?? 0) + (task.targetDelegateID?.utf8.count ?? 0)
        cost += task.idempotencyKey?.utf8.count ?? 0
        for selector in task.selectors { cost += 16 + selector.utf8.count }
        return cost
    }

    /// Remembers a final task, forgetting the oldest beyond `capacity` or `maxBytes`.
    mutating func insert(_ task: TaskRecord) {
        var slim = task
        slim.payload = []
        let cost = Self.cost(of: slim)
        guard task.output.count <= Self.maxOutputBytes, cost <= min(Self.maxEntryBytes, self.maxBytes) else {
            if let dropped = self.tasks.removeValue(forKey: task.id) { self.bytes -= dropped.cost }
            return
        }
        self.bytes += cost
        if let replaced = self.tasks.updateValue(Entry(task: slim, cost: cost), forKey: task.id) {
            self.bytes -= replaced.cost
            return
        }
        self.order.append(task.id)
        while self.order.count - self.head > self.capacity || self.bytes > self.maxBytes {
            if let forgotten = self.tasks.removeValue(forKey: self.order[self.head]) { self.bytes -= forgotten.cost }
            self.head += 1
        }
        if self.head > 4096 && self.head * 2 > self.order.count {
            self.order.removeFirst(self.head)
            self.head = 0
        }
    }

    /// The finished task with this id, if still remembered.
    subscript(id: String) -> TaskRecord? { self.tasks[id]?.task }
}
