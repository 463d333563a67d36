import LegateCore
import LegateWire
import Synchronization

/// What the task service asks of the secret service: which rings a delegate holds, the secrets a spec names, and
/// the sealed material of an assignment. Only tasks that use secrets ever call it.
protocol TaskSecretSource: AnyObject, Sendable {
    /// Rings whose current key the delegate holds as a member.
    func ringsHeld(by delegateID: String) -> Set<String>
    /// The secrets a spec names, resolved; refused without `secret:use`, or when their sealed material needs more
    /// than `room` bytes of the assignment.
    func resolve(_ uses: [SecretUse], session: AdminSession, room: Int) throws(AdminError) -> [TaskSecretUse]
    /// The sealed material of a task's secrets for its holder.
    func assignmentSecrets(for task: TaskRecord, delegateID: String) -> [TaskSecret]
}

/// Why a delegate's report was refused: the status of the call's ERROR and what it says.
struct ReportRefusal: Error, Sendable {
    /// The status code.
    var code: StatusCode
    /// What was wrong.
    var message: String
}

/// A weak link from the task service to the secret service (which holds the task service strongly).
final class TaskSecretLink: Sendable {
    private struct Box: @unchecked Sendable {
        weak var source: (any TaskSecretSource)?
    }

    private let box = Mutex(Box())

    /// Connects the secret service.
    func connect(_ source: any TaskSecretSource) { self.box.withLock { $0.source = source } }

    /// The connected secret service, if any.
    var source: (any TaskSecretSource)? { self.box.withLock { $0.source } }
}

extension TaskService {
    /// The delegate now holds current copies of exactly these rings: tasks using them may go to it.
    func setRings(_ rings: Set<String>, delegateID: String) {
        self.queue.async {
            if self.board.setRings(rings, delegateID: delegateID) { self.scheduleDispatch() }
        }
    }

    /// The rings a delegate that just became available holds (none when no secret service is connected).
    func ringsHeld(by delegateID: String) -> Set<String> {
        self.secretLink.source?.ringsHeld(by: delegateID) ?? []
    }

    /// `record` with the secrets `spec` names resolved; unchanged when it names none. `maxFrameBytes` bounds the
    /// assignment: payload and sealed secrets together.
    func withSecrets(_ record: TaskRecord, spec: TaskSpec, session: AdminSession, maxFrameBytes: Int)
        throws(AdminError) -> TaskRecord
    {
        guard !spec.secrets.isEmpty else { return record }
        guard let source = self.secretLink.source else {
            throw .failedPrecondition("this manager does not serve secrets")
        }
        var task = record
        let limit = TaskSpecRules.maxPayloadBytes(configured: Int.max, maxFrameBytes: maxFrameBytes)
        task.secrets = try source.resolve(spec.secrets, session: session, room: limit - record.payload.count)
        return task
    }

    /// Answers, on the task queue, with the task when `delegateID` holds its attempt `attempt` now, or with the
    /// status a report from it is refused with.
    func heldAttempt(
        taskID: String, attempt: UInt32, delegateID: String,
        reply: @escaping @Sendable (Result<TaskRecord, ReportRefusal>) -> Void
    ) {
        self.queue.async {
            switch self.board.heldAttempt(taskID: taskID, attempt: attempt, delegateID: delegateID) {
            case .success(let task): reply(.success(task))
            case .failure(let refusal):
                let (code, message) = Self.status(for: refusal)
                reply(.failure(ReportRefusal(code: code, message: message)))
            }
        }
    }

    /// The sealed secrets of an assignment to `delegateID`.
    func assignmentSecrets(for task: TaskRecord, delegateID: String) -> [TaskSecret] {
        self.secretLink.source?.assignmentSecrets(for: task, delegateID: delegateID) ?? []
    }
}
