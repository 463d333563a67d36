import LegateCore
import LegateNet
import LegateWire

// MARK: - Pushes: the machine allocates each stream and remembers what it carries, so it routes the PUSH_ACK.

extension ManagerConnection: TaskConnection {
    /// `LiveDelegateConnection`: the loop that owns this connection.
    var eventLoop: EventLoop { self.loopState.loop }

    /// "host" of "host:port" or "[v6]:port".
    static func host(of address: String) -> String { RegistrationDecision.host(of: address) }

    /// Writes `message` as the push `tracked`; nil (nothing written) when the machine allows no push now.
    @discardableResult
    func push(_ tracked: TrackedPush, _ message: some ProtoMessage) -> UInt32? {
        guard let streamID = self.machine.allocatePush(tracked, now: self.loopState.loop.now) else { return nil }
        self.loopState.send(.push, method: tracked.kind, streamID: streamID, message: message, on: self.connection)
        self.services.log.debug(
            "push sent", ["push.kind": "\(tracked.kind)", "stream.id": "\(streamID)", "delegate.id": self.delegateID])
        return streamID
    }

    /// `LiveDelegateConnection`: already on the loop (a fan-out batches its pushes per loop).
    func pushSelfDestructOnLoop(reason: String, tokenID: String, progress: @escaping @Sendable (PushEvent) -> Void) {
        self.pushSelfDestruct(reason: reason, tokenID: tokenID, progress: progress)
    }

    /// `LiveDelegateConnection`: the fan-out's deadline passed without a PUSH_ACK: end with the fatal status now.
    func closeIfSelfDestructUnacknowledged() {
        self.assertOnLoop()
        self.perform(self.machine.selfDestructTimedOut())
    }

    /// On the loop: SELF_DESTRUCT, at most once per connection; the machine ends the connection with
    /// PERMISSION_DENIED on stream 0 once it is acknowledged, or when its deadline passes.
    func pushSelfDestruct(reason: String, tokenID: String, progress: (@Sendable (PushEvent) -> Void)?) {
        self.assertOnLoop()
        if self.selfDestructAcknowledged {
            progress?(.sent)
            progress?(.acknowledged)
        } else if let pending = self.machine.registered?.selfDestructStreamID {
            // Already told (a heartbeat overtook the fan-out): the fan-out waits for that push's PUSH_ACK.
            guard let progress, self.pushProgress[pending] == nil else { return progress?(.notSent) ?? () }
            self.pushProgress[pending] = progress
            progress(.sent)
        } else {
            var message = SelfDestruct()
            message.reason = reason
            message.tokenID = tokenID
            message.code = .permissionDenied
            guard let streamID = self.push(.selfDestruct(reason: reason, code: .permissionDenied), message) else {
                return progress?(.notSent) ?? ()
            }
            self.pushProgress[streamID] = progress
            progress?(.sent)
        }
    }

    /// `LiveDelegateConnection`: hops to the loop and pushes TOKEN_ROTATED.
    func sendTokenRotated(_ message: TokenRotated, progress: @escaping @Sendable (PushEvent) -> Void) {
        self.loopState.loop.execute {
            let tracked = TrackedPush.tokenRotated(oldTokenID: message.oldTokenID, newTokenID: message.newTokenID)
            guard self.machine.registeredIdentity?.tokenID == message.oldTokenID, !self.machine.isRotationPending,
                let streamID = self.push(tracked, message)
            else { return progress(.notSent) }
            self.pushProgress[streamID] = progress
            progress(.sent)
        }
    }

    /// On the loop: the delegate switched (the machine's identity names the new token); move it in the registry.
    func rotationAcknowledged(streamID: UInt32, newTokenID: String) {
        if let identity = self.machine.registeredIdentity,
            let record = self.services.registry.moveToToken(
                delegateID: identity.delegateID, tokenID: newTokenID, connection: self)
        {
            self.services.writer.submit([.upsertDelegate(record)])
        }
        self.pushProgress.removeValue(forKey: streamID)?(.acknowledged)
    }

    /// `LiveDelegateConnection`: hops to the loop and pushes APPROVAL_DECISION; approved, the delegate is now
    /// available for tasks; rejected, the connection closes once the push is written.
    func pushApprovalDecision(
        _ decision: ApprovalDecision, record: DelegateRecord, progress: @escaping @Sendable (PushEvent) -> Void
    ) {
        self.loopState.loop.execute {
            guard self.machine.registeredIdentity?.delegateID == record.id,
                self.push(.approvalDecision(approved: decision.approved), decision) != nil
            else { return progress(.notSent) }
            progress(.sent)
            self.machine.approvalDecided(approved: decision.approved)
            if decision.approved {
                self.delegateBecameAvailable(record)
            } else {
                self.services.log.log(.info, "delegate rejected; closing", ["delegate.id": record.id])
                self.connection.close(flushFirst: true)
            }
        }
    }

    /// `TaskConnection`: task pushes and answers to task reports, written together.
    func deliverOnLoop(_ items: [TaskOutgoing]) {
        self.assertOnLoop()
        guard !self.machine.isClosed else { return }
        self.connection.coalescingWrites {
            for item in items {
                switch item {
                case .assign(let assignment):
                    self.push(.taskAssign(taskID: assignment.taskID, attempt: assignment.attempt), assignment)
                case .cancel(let cancel):
                    self.push(.taskCancel(taskID: cancel.taskID, attempt: cancel.attempt), cancel)
                case .answer(let method, let streamID, let refusal?):
                    let frame = ServerConnectionMachine.errorFrame(
                        method: method, streamID: streamID, code: refusal.0, refusal.1)
                    self.loopState.send(frame, on: self.connection)
                case .answer(let method, let streamID, nil):
                    self.loopState.send(
                        .response, method: method, streamID: streamID, message: CallAck(), on: self.connection)
                }
            }
        }
    }
}
