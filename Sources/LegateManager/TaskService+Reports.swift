import LegateCore
import LegateStore
import LegateWire

// MARK: - Delegate reports (TaskUpdate, TaskResult, Leave): stored before they are answered.

extension TaskService {
    /// The delegate on `connection` said it is leaving (Leave call): like `delegateUnavailable`, but answered
    /// CallAck on `streamID` once the re-queued attempts are stored.
    func delegateLeaving(_ delegateID: String, connection: any TaskConnection, streamID: UInt32) {
        self.queue.async {
            let method = CallMethod.leave.rawValue
            var effects: [TaskBoard.Effect] = []
            if let current = self.connections[delegateID], current === connection {
                self.connections[delegateID] = nil
                effects = self.board.delegateUnavailable(delegateID, now: self.clock.unixMilliseconds())
            }
            self.perform(effects) { error in
                self.send(.answer(method: method, streamID: streamID, refusal: Self.status(for: error)), to: connection)
            }
            self.scheduleDispatch()  // the re-queued attempts may go to another delegate now
        }
    }

    /// A TaskUpdate call: stored (log chunk included) before it is answered.
    func update(_ update: TaskUpdate, delegateID: String, connection: any TaskConnection, streamID: UInt32) {
        self.queue.async {
            let now = self.clock.unixMilliseconds()
            let result = self.board.progress(
                taskID: update.taskID, attempt: update.attempt, delegateID: delegateID, started: update.started,
                percent: update.progressPercent, message: update.message, now: now)
            let method = CallMethod.taskUpdate.rawValue
            switch result {
            case .failure(let refusal):
                self.send(.answer(method: method, streamID: streamID, refusal: Self.status(for: refusal)), to: connection)
            case .success(let effects):
                if !update.logChunk.isEmpty { self.appendLog(update, now: now) }
                self.perform(effects) { error in
                    self.send(.answer(method: method, streamID: streamID, refusal: Self.status(for: error)), to: connection)
                }
            }
        }
    }

    /// A TaskResult call: stored before it is answered; a stale attempt is refused with ABORTED.
    func result(_ result: TaskResult, delegateID: String, connection: any TaskConnection, streamID: UInt32) {
        self.queue.async {
            let method = CallMethod.taskResult.rawValue
            guard let outcome = Self.outcome(result.outcome) else {
                let problem = "TaskResult.outcome must be SUCCEEDED, FAILED, CANCELLED or TIMED_OUT"
                self.send(.answer(method: method, streamID: streamID, refusal: (.invalidArgument, problem)), to: connection)
                return
            }
            let verdict = self.board.result(
                taskID: result.taskID, attempt: result.attempt, delegateID: delegateID, outcome: outcome,
                output: result.output, error: result.error, exitCode: result.exitCode,
                now: self.clock.unixMilliseconds())
            switch verdict {
            case .failure(let refusal):
                self.log.log(
                    .info, "task result refused",
                    ["task.id": result.taskID, "attempt": "\(result.attempt)", "delegate.id": delegateID,
                     "reason": refusal.message])
                self.send(.answer(method: method, streamID: streamID, refusal: Self.status(for: refusal)), to: connection)
            case .success(let effects):
                self.perform(effects) { error in
                    self.send(.answer(method: method, streamID: streamID, refusal: Self.status(for: error)), to: connection)
                }
            }
        }
    }

    static func outcome(_ outcome: TaskOutcome) -> TaskBoard.Outcome? {
        switch outcome {
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled: return .cancelled
        case .timedOut: return .timedOut
        default: return nil
        }
    }

    static func status(for refusal: TaskBoard.Refusal) -> (StatusCode, String) {
        switch refusal.code {
        case .notFound: return (.notFound, refusal.message)
        case .staleAttempt: return (.aborted, refusal.message)
        case .notHolder: return (.permissionDenied, refusal.message)
        case .alreadyFinal: return (.failedPrecondition, refusal.message)
        }
    }

    static func status(for error: StoreError?) -> (StatusCode, String)? {
        error.map { (.unavailable, "the manager could not store the report (\($0)); retry") }
    }
}
