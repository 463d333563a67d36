import Dispatch
import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import LegateWire
import Synchronization

/// Pushes echo tasks through the manager's own task path in one process, without sockets or TLS: TaskSubmit and
/// TaskWait through the admin router, the task service and its queue, the store writer and a SQLite store, and
/// simulated delegates that take each TASK_ASSIGN from the outbox, acknowledge it and report the result as a
/// decoded TaskResult frame. It exists so instruction counts (callgrind) and CPU per task can be measured without
/// the timing noise of a load client sharing the machine (`tools/bench/callgrind-tasks.sh`).
public enum TaskPathDriver {
    /// What to drive.
    public struct Settings: Sendable {
        /// Tasks to run to a result.
        public var tasks = 10_000
        /// Tasks per TaskSubmit call.
        public var batch = 100
        /// Submitters, each with one batch in flight (submit, then wait for every result).
        public var workers = 16
        /// Simulated delegates.
        public var delegates = 100
        /// Tasks each delegate runs at once.
        public var capacity = 4
        /// Event loops the delegates are spread over.
        public var loops = 2
        /// Bytes of echo payload per task.
        public var payloadBytes = 16
        /// Directory the SQLite store is created in (must not hold one already).
        public var directory: String

        /// The defaults, with the store in `directory`.
        public init(directory: String) {
            self.directory = directory
        }
    }

    /// How a run went.
    public struct Figures: Sendable {
        /// Tasks that ended SUCCEEDED.
        public var succeeded = 0
        /// Tasks that ended otherwise, or calls that were refused.
        public var failures = 0
    }

    /// Why a run could not start.
    public enum Failure: Error, CustomStringConvertible {
        /// The store could not be opened or seeded.
        case store(StoreError)

        /// What happened and what to do.
        public var description: String {
            switch self {
            case .store(let error): "the driver's store could not be prepared (\(error)); pass an empty directory"
            }
        }
    }

    /// Runs `settings.tasks` tasks to their results and returns once every submitter is done.
    public static func run(_ settings: Settings) throws(Failure) -> Figures {
        let clock = SystemClock()
        let log = DiscardingLogSink()
        let accountID = "acc_driver"
        let now = clock.unixMilliseconds()
        let store: SQLiteStateStore
        let records = (0..<max(1, settings.delegates)).map { index in
            DelegateRecord(
                id: "dlg_driver\(index)", accountID: accountID, instanceID: "inst\(index)", name: "d\(index)",
                hostname: "localhost", ipAddress: "127.0.0.1", version: "driver", tags: [], taskTypes: ["echo"],
                profile: "default", tokenID: "tok_driver", status: .active, firstSeenAt: now)
        }
        do {
            store = try SQLiteStateStore(path: settings.directory + "/legate.db")
            try store.apply(
                [.insertAccount(AccountRecord(id: accountID, name: "driver", createdAt: now))]
                    + records.map { .upsertDelegate($0) })
        } catch {
            throw .store(error)
        }
        let configuration = ManagerConfiguration.defaults
        let writer = StoreWriter(store: store, log: log)
        let tasks = TaskService(
            configuration: configuration.tasks, store: store, writer: writer, log: log, clock: clock)
        do { try tasks.start() } catch { throw .store(error) }
        defer { tasks.stop() }
        let services = ManagerServices(
            configuration: configuration, store: store, masterKey: MasterKey.generate(), clock: clock,
            tokens: TokenDirectory(), registry: DelegateRegistry(), profiles: ProfileDirectory(), writer: writer,
            log: log, tasks: tasks)
        let loops = (0..<max(1, settings.loops)).map { EventLoop(label: "legate.driver.loop\($0)") }
        for (index, record) in records.enumerated() {
            let delegate = SimulatedDelegate(id: record.id, loop: loops[index % loops.count], tasks: tasks)
            tasks.delegateAvailable(record, capacity: settings.capacity, scope: .account, connection: delegate)
        }
        let session = AdminSession(
            keyID: "key_driver", accountID: accountID, permissions: Set(AdminPermission.allCases), scope: .account)
        let submitters = (0..<max(1, settings.workers)).map { index in
            Submitter(services: services, session: session, loop: loops[index % loops.count], settings: settings)
        }
        let budget = Budget(settings.tasks)
        let done = DispatchGroup()
        for submitter in submitters {
            done.enter()
            submitter.next(budget: budget) { done.leave() }
        }
        done.wait()
        tasks.flush()
        var figures = Figures()
        for submitter in submitters { submitter.add(to: &figures) }
        return figures
    }
}

/// Tasks left to submit, shared by the submitters.
private final class Budget: Sendable {
    private let left: Mutex<Int>

    init(_ tasks: Int) { self.left = Mutex(tasks) }

    /// Takes up to `most` tasks; 0 once spent.
    func take(_ most: Int) -> Int {
        self.left.withLock { left in
            let taken = min(left, most)
            left -= taken
            return taken
        }
    }
}

/// A delegate without a socket: what the task service sends it is encoded as frames (as the connection would),
/// each TASK_ASSIGN is acknowledged and answered with a TaskResult frame the manager decodes.
///
/// `@unchecked Sendable`: `scratch`, `decoder` and `nextStreamID` are touched only on `eventLoop.queue`.
private final class SimulatedDelegate: TaskConnection, @unchecked Sendable {
    let eventLoop: EventLoop
    private let id: String
    private let tasks: TaskService
    private var scratch: [UInt8] = []
    private var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxFrameBytesCeiling)
    private var nextStreamID: UInt32 = 1

    init(id: String, loop: EventLoop, tasks: TaskService) {
        self.id = id
        self.eventLoop = loop
        self.tasks = tasks
    }

    func deliverOnLoop(_ items: [TaskOutgoing]) {
        self.scratch.removeAll(keepingCapacity: true)
        var assigned: [TaskAssignment] = []
        for item in items {
            switch item {
            case .assign(let assignment):
                self.encode(.push, PushKind.taskAssign.rawValue, assignment)
                assigned.append(assignment)
            case .cancel(let cancel):
                self.encode(.push, PushKind.taskCancel.rawValue, cancel)
            case .answer(let method, let streamID, let refusal?):
                FrameEncoder.encode(
                    ServerConnectionMachine.errorFrame(method: method, streamID: streamID, code: refusal.0, refusal.1),
                    into: &self.scratch)
            case .answer(let method, _, nil):
                self.encode(.response, method, CallAck())
            }
        }
        for assignment in assigned {
            self.tasks.acknowledged(taskID: assignment.taskID, attempt: assignment.attempt, delegateID: self.id)
            var result = TaskResult()
            result.taskID = assignment.taskID
            result.attempt = assignment.attempt
            result.outcome = .succeeded
            result.output = assignment.payload
            self.scratch.removeAll(keepingCapacity: true)
            let streamID = self.encode(.request, CallMethod.taskResult.rawValue, result)
            self.decoder.append(contentsOf: self.scratch)
            guard let frame = try? self.decoder.nextFrame(), let decoded = try? TaskResult(protoBytes: frame.payload)
            else { continue }
            self.tasks.result(decoded, delegateID: self.id, connection: self, streamID: streamID)
        }
    }

    @discardableResult
    private func encode(_ type: FrameType, _ method: UInt16, _ message: some ProtoMessage) -> UInt32 {
        let streamID = self.nextStreamID
        self.nextStreamID &+= 2
        FrameEncoder.encode(type, method: method, streamID: streamID, message: message, into: &self.scratch)
        return streamID
    }
}

/// One admin client: submits a batch, waits for all of its results, and repeats while the budget lasts. Answers
/// hop to its loop and are encoded as response frames there, as an admin connection's are.
///
/// `@unchecked Sendable`: `scratch` and the counters are touched only on `loop.queue`.
private final class Submitter: @unchecked Sendable {
    private let services: ManagerServices
    private let session: AdminSession
    private let loop: EventLoop
    private let settings: TaskPathDriver.Settings
    private var scratch: [UInt8] = []
    private var succeeded = 0
    private var failures = 0

    init(services: ManagerServices, session: AdminSession, loop: EventLoop, settings: TaskPathDriver.Settings) {
        self.services = services
        self.session = session
        self.loop = loop
        self.settings = settings
    }

    /// Starts the next batch, or calls `finished` when the budget is spent.
    func next(budget: Budget, finished: @escaping @Sendable () -> Void) {
        let count = budget.take(max(1, self.settings.batch))
        guard count > 0 else { return finished() }
        var spec = TaskSpec()
        spec.type = "echo"
        spec.payload = [UInt8](repeating: UInt8(ascii: "x"), count: self.settings.payloadBytes)
        spec.timeoutMs = 60_000
        var request = TaskSubmitRequest()
        request.tasks = Array(repeating: spec, count: count)
        self.call(.taskSubmit, request) { (response: TaskSubmitResponse?) in
            guard let response else {
                self.failures += count
                return self.next(budget: budget, finished: finished)
            }
            self.wait(for: response.tasks.map(\.id)) { self.next(budget: budget, finished: finished) }
        }
    }

    private func wait(for ids: [String], then continuation: @escaping @Sendable () -> Void) {
        var request = TaskWaitRequest()
        request.taskIds = ids
        request.timeoutMs = 30_000
        self.call(.taskWait, request) { (response: TaskListResponse?) in
            guard let response else {
                self.failures += ids.count
                return continuation()
            }
            var pending: [String] = []
            for task in response.tasks {
                if !(TaskStatus(wire: task.state)?.isFinal ?? false) {
                    pending.append(task.id)
                } else if task.state == .succeeded {
                    self.succeeded += 1
                } else {
                    self.failures += 1
                }
            }
            if pending.isEmpty { return continuation() }
            self.wait(for: pending, then: continuation)
        }
    }

    /// Serves one admin call; `answer` runs on the loop with the decoded response, or nil when it was refused.
    private func call<Response: ProtoMessage>(
        _ method: AdminMethod, _ request: some ProtoMessage, answer: @escaping @Sendable (Response?) -> Void
    ) {
        let frame = Frame(type: .request, method: method.rawValue, streamID: 1, payload: request.protoBytes())
        AdminGateway(services: self.services).serve(
            frame, session: self.session, maxResponseBytes: FrameLimits.maxFrameBytesCeiling
        ) { result in
            self.loop.execute {
                guard case .success(let payload) = result else { return answer(nil) }
                self.scratch.removeAll(keepingCapacity: true)
                FrameEncoder.encode(
                    Frame(type: .response, method: frame.method, streamID: frame.streamID, payload: payload),
                    into: &self.scratch)
                answer(try? Response(protoBytes: payload))
            }
        }
    }

    func add(to figures: inout TaskPathDriver.Figures) {
        self.loop.queue.sync {
            figures.succeeded += self.succeeded
            figures.failures += self.failures
        }
    }
}
