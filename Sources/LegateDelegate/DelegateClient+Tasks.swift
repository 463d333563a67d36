import LegateCore
import LegateNet
import LegateWire
import Synchronization

/// What the delegate's task layer tells the embedding program; delivered on the delegate's event loop.
public enum DelegateTaskEvent: Sendable, Equatable {
    /// An assignment was acknowledged and its handler started (a `started` update was sent).
    case taskStarted(taskID: String, attempt: UInt32, type: String)
    /// An assignment could not be taken (unknown type, at capacity, undecodable push); a FAILED result was sent
    /// when the push named a task.
    case taskRefused(taskID: String, attempt: UInt32, reason: String)
    /// The attempt ended and its `TaskResult` was sent with `outcome`.
    case taskFinished(taskID: String, attempt: UInt32, outcome: TaskOutcome)
    /// The manager stored the result (CallAck).
    case taskResultAcknowledged(taskID: String, attempt: UInt32)
    /// The manager refused the result: ABORTED means the attempt is stale (re-dispatched elsewhere). Not retried.
    case taskResultRefused(taskID: String, attempt: UInt32, code: StatusCode, message: String)
    /// The attempt was stopped and will not be reported (connection lost, delegate stopping, or stale).
    case taskAbandoned(taskID: String, attempt: UInt32, reason: String)
    /// At the manager's request this member sealed a ring key (version `ringVersion`, new when `rotated`) to these
    /// device key fingerprints, or could not (`error`). Logged on the member's host, so an operator can check
    /// that only known delegates got it, whatever the manager says.
    case ringKeySealed(ringID: String, ringVersion: UInt32, rotated: Bool, recipients: [String], error: String)
}

/// A TaskUpdate or TaskResult call awaiting its answer.
struct PendingTaskCall: Sendable {
    var taskID: String
    var attempt: UInt32
    var isResult: Bool
}

extension DelegateClient {
    // MARK: - Public task API

    /// Adds a task handler (any thread; call before `start()`: types are announced at registration).
    public func register(_ handler: any TaskHandler) {
        self.tasks.handlers.register(handler)
    }

    /// Sets the receiver of task events (any thread; call before `start()`).
    public func onTaskEvent(_ handler: @escaping @Sendable (DelegateTaskEvent) -> Void) {
        self.taskEventHandler.withLock { $0 = handler }
    }

    /// The task types this client runs (sorted).
    public var taskTypes: [String] { self.tasks.handlers.types }

    /// Task attempts running now.
    public var runningTaskCount: Int { self.tasks.runningCount }

    // MARK: - On the loop

    /// TASK_ASSIGN or TASK_CANCEL: acknowledge (an assignment's ack may wait a few ms for its result), then start
    /// or cancel the attempt.
    func taskPushReceived(_ frame: Frame, acknowledgement: Frame) {
        guard let connection = self.connection else { return }
        switch PushKind(rawValue: frame.method) {
        case .taskAssign:
            guard let assignment = try? TaskAssignment(protoBytes: frame.payload) else {
                self.send(acknowledgement)
                self.emitTask(.taskRefused(taskID: "", attempt: 0, reason: "TASK_ASSIGN payload is malformed"))
                return
            }
            if self.leaving != nil {
                // Stopping: not started; the Leave call makes the manager re-queue it with the rest.
                self.send(acknowledgement)
                self.emitTask(
                    .taskAbandoned(
                        taskID: assignment.taskID, attempt: assignment.attempt, reason: "the delegate is stopping"))
                return
            }
            self.holdAcknowledgement(acknowledgement, for: assignment.taskID, attempt: assignment.attempt)
            let reporter = ConnectionTaskReporter(client: self, connection: connection)
            let decision: TaskRunner.Decision
            if assignment.secrets.isEmpty {
                decision = self.tasks.assign(assignment, reporter: reporter)
            } else {
                decision = self.assignWithSecrets(assignment, reporter: reporter, connection: connection)
            }
            switch decision {
            case .started:
                self.emitTask(
                    .taskStarted(taskID: assignment.taskID, attempt: assignment.attempt, type: assignment.type))
            case .refused(let reason):
                self.emitTask(.taskRefused(taskID: assignment.taskID, attempt: assignment.attempt, reason: reason))
            case .duplicate:
                break
            }
        case .taskCancel:
            self.send(acknowledgement)
            guard let cancel = try? TaskCancel(protoBytes: frame.payload) else { return }
            self.tasks.cancel(taskID: cancel.taskID, attempt: cancel.attempt, reason: cancel.reason)
        case .ringKeyShare, .ringRotate:
            self.send(acknowledgement)
            self.ringWorkReceived(frame, on: connection)
        default:
            self.send(acknowledgement)
        }
    }

    /// Holds an assignment's PUSH_ACK until its first report or `taskAcknowledgementDelay`, whichever comes first.
    private func holdAcknowledgement(_ acknowledgement: Frame, for taskID: String, attempt: UInt32) {
        let delay = self.configuration.taskAcknowledgementDelay
        guard delay > .zero else { return self.send(acknowledgement) }
        self.heldAssignmentAcks[Self.ackKey(taskID, attempt)] = acknowledgement
        guard !self.isAckFlushScheduled else { return }
        self.isAckFlushScheduled = true
        _ = self.tasks.timers.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.loop.execute { self.flushHeldAcknowledgements() }
        }
    }

    /// Sends every held PUSH_ACK (the delay passed).
    private func flushHeldAcknowledgements() {
        self.isAckFlushScheduled = false
        guard !self.heldAssignmentAcks.isEmpty, let connection = self.connection else { return }
        let acks = self.heldAssignmentAcks.values
        self.heldAssignmentAcks.removeAll()
        connection.coalescingWrites { for ack in acks { self.send(ack) } }
    }

    /// Sends the held PUSH_ACK of this attempt, if any, before its first report.
    private func releaseAcknowledgement(taskID: String, attempt: UInt32) {
        if let ack = self.heldAssignmentAcks.removeValue(forKey: Self.ackKey(taskID, attempt)) { self.send(ack) }
    }

    private static func ackKey(_ taskID: String, _ attempt: UInt32) -> String { "\(taskID)/\(attempt)" }

    /// A RESPONSE or ERROR to a call made with `allocateCallStreamID()`: match it to its TaskUpdate/TaskResult.
    func taskCallAnswered(_ frame: Frame) {
        guard let call = self.pendingTaskCalls.removeValue(forKey: frame.streamID) else { return }
        if frame.type == .response {
            if call.isResult { self.emitTask(.taskResultAcknowledged(taskID: call.taskID, attempt: call.attempt)) }
            return
        }
        let status = (try? Status(protoBytes: frame.payload)) ?? Status()
        if call.isResult {
            self.emitTask(
                .taskResultRefused(
                    taskID: call.taskID, attempt: call.attempt, code: status.code, message: status.message))
        } else if status.code == .aborted, self.tasks.abandon(taskID: call.taskID, attempt: call.attempt) {
            // The manager no longer lets this attempt report: stop the work.
            self.emitTask(
                .taskAbandoned(
                    taskID: call.taskID, attempt: call.attempt,
                    reason: "the manager refused an update as stale: \(status.message)"))
        }
    }

    /// Sends a task call on `connection` if it is still the current, registered one; else drops it.
    func sendTaskCall(_ message: TaskUpdate, on connection: Connection) {
        guard connection === self.connection, let streamID = self.machine.allocateCallStreamID() else { return }
        self.pendingTaskCalls[streamID] = PendingTaskCall(
            taskID: message.taskID, attempt: message.attempt, isResult: false)
        connection.coalescingWrites {
            self.releaseAcknowledgement(taskID: message.taskID, attempt: message.attempt)
            self.send(.request, method: CallMethod.taskUpdate.rawValue, streamID: streamID, message: message)
        }
    }

    /// Sends a result on `connection` if it is still the current, registered one; else drops it.
    func sendTaskCall(_ message: TaskResult, on connection: Connection) {
        guard connection === self.connection, let streamID = self.machine.allocateCallStreamID() else { return }
        self.pendingTaskCalls[streamID] = PendingTaskCall(
            taskID: message.taskID, attempt: message.attempt, isResult: true)
        connection.coalescingWrites {
            self.releaseAcknowledgement(taskID: message.taskID, attempt: message.attempt)
            self.send(.request, method: CallMethod.taskResult.rawValue, streamID: streamID, message: message)
        }
        self.emitTask(.taskFinished(taskID: message.taskID, attempt: message.attempt, outcome: message.outcome))
    }

    /// Stops every running attempt without reporting it; forgets calls in flight.
    func abandonTasks(reason: String) {
        self.pendingTaskCalls = [:]
        self.heldAssignmentAcks = [:]
        for (taskID, attempt) in self.tasks.abandonAll() {
            self.emitTask(.taskAbandoned(taskID: taskID, attempt: attempt, reason: reason))
        }
    }

    func emitTask(_ event: DelegateTaskEvent) {
        self.taskEventHandler.withLock { $0 }?(event)
    }
}

/// Sends one attempt's reports on the connection it arrived on, always through the loop's queue (FIFO), so the
/// order the runner reports in (under the attempt's lock) is the order on the wire.
final class ConnectionTaskReporter: TaskReporting {
    private let client: DelegateClient
    private let connection: Connection

    init(client: DelegateClient, connection: Connection) {
        self.client = client
        self.connection = connection
    }

    func sendUpdate(_ update: TaskUpdate) {
        self.client.loop.execute { self.client.sendTaskCall(update, on: self.connection) }
    }

    func sendResult(_ result: TaskResult) {
        self.client.loop.execute { self.client.sendTaskCall(result, on: self.connection) }
    }
}
