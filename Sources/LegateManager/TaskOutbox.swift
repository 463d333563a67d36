import LegateNet
import LegateWire

/// What the task service sends a delegate connection.
enum TaskOutgoing: Sendable {
    /// Push TASK_ASSIGN; its PUSH_ACK comes back as `acknowledged`.
    case assign(TaskAssignment)
    /// Push TASK_CANCEL.
    case cancel(TaskCancel)
    /// Answer a TaskUpdate/TaskResult call: CallAck, or ERROR with the status.
    case answer(method: UInt16, streamID: UInt32, refusal: (StatusCode, String)?)
}

/// A connection the task service can push to and answer on (the manager's delegate connections).
protocol TaskConnection: AnyObject, Sendable {
    /// The loop that owns the connection.
    var eventLoop: EventLoop { get }
    /// On `eventLoop`: sends `items` in order, written together.
    func deliverOnLoop(_ items: [TaskOutgoing])
}

/// What the task service has to send, gathered per connection and handed to each loop once per turn.
struct TaskOutbox {
    private var items: [ObjectIdentifier: (connection: any TaskConnection, items: [TaskOutgoing])] = [:]

    var isEmpty: Bool { self.items.isEmpty }

    mutating func add(_ item: TaskOutgoing, to connection: any TaskConnection) {
        self.items[ObjectIdentifier(connection), default: (connection, [])].items.append(item)
    }

    /// Empties the outbox: one `execute` per loop delivers to each of its connections.
    mutating func flush() {
        var byLoop: [ObjectIdentifier: (loop: EventLoop, work: [(any TaskConnection, [TaskOutgoing])])] = [:]
        for (_, entry) in self.items {
            let loop = entry.connection.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].work.append((entry.connection, entry.items))
        }
        self.items.removeAll(keepingCapacity: true)
        for (_, batch) in byLoop {
            let work = batch.work
            batch.loop.execute {
                for (connection, items) in work { connection.deliverOnLoop(items) }
            }
        }
    }
}
