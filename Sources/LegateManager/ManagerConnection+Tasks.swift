import LegateCore
import LegateNet
import LegateWire

// MARK: - Tasks on the delegate connection (issue 6): pushes out, reports in, answers after they are stored.

extension ManagerConnection: TaskConnection {
    /// A TaskUpdate or TaskResult call arrived from a registered delegate.
    func taskCallReceived(_ frame: Frame) {
        guard let identity = self.identity, self.selfDestructStreamID == nil else {
            self.answerOnLoop(method: frame.method, streamID: frame.streamID,
                              refusal: (.failedPrecondition, "this connection is closing"))
            return
        }
        do {
            if frame.method == CallMethod.taskUpdate.rawValue {
                let update = try TaskUpdate(protoBytes: frame.payload)
                self.services.tasks.update(
                    update, delegateID: identity.delegateID, connection: self, streamID: frame.streamID)
            } else {
                let result = try TaskResult(protoBytes: frame.payload)
                self.services.tasks.result(
                    result, delegateID: identity.delegateID, connection: self, streamID: frame.streamID)
            }
        } catch {
            self.answerOnLoop(method: frame.method, streamID: frame.streamID,
                              refusal: (.invalidArgument, "task report is malformed: \(error)"))
        }
    }

    /// The delegate acknowledged a TASK_ASSIGN or TASK_CANCEL push.
    func taskPushAcknowledged(kind: UInt16, streamID: UInt32) {
        guard kind == PushKind.taskAssign.rawValue,
            let assignment = self.taskAssignmentsInFlight.removeValue(forKey: streamID),
            let identity = self.identity
        else { return }
        self.services.tasks.acknowledged(
            taskID: assignment.taskID, attempt: assignment.attempt, delegateID: identity.delegateID)
    }

    /// This connection's delegate is now active and connected: it may be given tasks.
    func delegateBecameAvailable(_ record: DelegateRecord) {
        // The token's scope says which tasks the delegate may run (its own scope and the ones below it). A token
        // is revoked before it can be deleted, and a revoked token's delegates are refused, so the entry exists.
        let scope = self.services.tokens.entry(tokenID: record.tokenID)?.scope ?? .account
        self.services.tasks.delegateAvailable(
            record, capacity: self.announcedCapacity, scope: scope, connection: self)
    }

    /// This connection's delegate is gone (closed, rejected, deleted): its tasks must be re-dispatched.
    func delegateBecameUnavailable() {
        guard let identity = self.identity else { return }
        self.taskAssignmentsInFlight.removeAll()
        self.services.tasks.delegateUnavailable(identity.delegateID, connection: self)
    }

    // MARK: - TaskConnection

    func deliverOnLoop(_ items: [TaskOutgoing]) {
        guard !self.machine.isClosed else { return }
        self.connection.coalescingWrites {
            for item in items {
                switch item {
                case .assign(let assignment):
                    let streamID = self.machine.allocatePushStreamID()
                    self.taskAssignmentsInFlight[streamID] = (assignment.taskID, assignment.attempt)
                    self.loopState.send(
                        .push, method: PushKind.taskAssign.rawValue, streamID: streamID, message: assignment,
                        on: self.connection)
                case .cancel(let cancel):
                    let streamID = self.machine.allocatePushStreamID()
                    self.loopState.send(
                        .push, method: PushKind.taskCancel.rawValue, streamID: streamID, message: cancel,
                        on: self.connection)
                case .answer(let method, let streamID, let refusal):
                    self.answerOnLoop(method: method, streamID: streamID, refusal: refusal)
                }
            }
        }
    }

    private func answerOnLoop(method: UInt16, streamID: UInt32, refusal: (StatusCode, String)?) {
        guard !self.machine.isClosed else { return }
        if let (code, message) = refusal {
            let request = Frame(type: .request, method: method, streamID: streamID, payload: [])
            self.loopState.send(ServerConnectionMachine.errorFrame(for: request, code: code, message), on: self.connection)
        } else {
            self.loopState.send(.response, method: method, streamID: streamID, message: CallAck(), on: self.connection)
        }
    }
}
