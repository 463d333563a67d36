import LegateCore
import LegateNet
import LegateWire

// MARK: - Pushes to the delegate: allocated through the machine, which routes their acknowledgements.

extension ManagerConnection {
    /// `LiveDelegateConnection`: the loop that owns this connection.
    var eventLoop: EventLoop { self.loopState.loop }

    /// "host" of "host:port" or "[v6]:port".
    static func host(of address: String) -> String { RegistrationDecision.host(of: address) }

    /// `LiveDelegateConnection`: already on the loop (a fan-out batches its pushes per loop).
    func pushSelfDestructOnLoop(
        reason: String, tokenID: String, progress: @escaping @Sendable (PushEvent) -> Void
    ) {
        self.pushSelfDestruct(reason: reason, tokenID: tokenID, progress: progress)
    }

    /// `LiveDelegateConnection`: the fan-out's deadline passed without a PUSH_ACK: end with the fatal status.
    func closeIfSelfDestructUnacknowledged() {
        self.assertOnLoop()
        self.perform(self.machine.selfDestructTimedOut())
    }

    /// On the loop: writes SELF_DESTRUCT (at most once per connection); the machine closes the connection with
    /// PERMISSION_DENIED on stream 0 once it is acknowledged, or when its deadline passes.
    func pushSelfDestruct(reason: String, tokenID: String, progress: (@Sendable (PushEvent) -> Void)?) {
        self.assertOnLoop()
        if self.selfDestructAcknowledged {
            progress?(.sent)
            progress?(.acknowledged)
            return
        }
        if let session = self.machine.registered, let pending = session.selfDestructStreamID {
            // Already told (a heartbeat overtook the fan-out): the fan-out waits for that push's PUSH_ACK.
            if let progress, self.pushProgress[pending] == nil {
                self.pushProgress[pending] = progress
                progress(.sent)
            } else {
                progress?(.notSent)
            }
            return
        }
        let push = TrackedPush.selfDestruct(reason: reason, code: .permissionDenied)
        guard let streamID = self.machine.allocatePush(push, now: self.loopState.loop.now) else {
            progress?(.notSent)
            return
        }
        var message = SelfDestruct()
        message.reason = reason
        message.tokenID = tokenID
        message.code = .permissionDenied
        self.pushProgress[streamID] = progress
        self.loopState.send(
            .push, method: push.kind, streamID: streamID, message: message, on: self.connection)
        progress?(.sent)
    }

    /// `LiveDelegateConnection`: hops to the loop and pushes TOKEN_ROTATED.
    func sendTokenRotated(_ message: TokenRotated, progress: @escaping @Sendable (PushEvent) -> Void) {
        self.loopState.loop.execute {
            let push = TrackedPush.tokenRotated(oldTokenID: message.oldTokenID, newTokenID: message.newTokenID)
            guard self.machine.registeredIdentity?.tokenID == message.oldTokenID, !self.machine.isRotationPending,
                let streamID = self.machine.allocatePush(push, now: self.loopState.loop.now)
            else {
                progress(.notSent)
                return
            }
            self.pushProgress[streamID] = progress
            self.loopState.send(.push, method: push.kind, streamID: streamID, message: message, on: self.connection)
            progress(.sent)
        }
    }

    /// On the loop: the delegate switched (the machine's identity names the new token); move it in the registry.
    func rotationAcknowledged(streamID: UInt32, newTokenID: String) {
        let progress = self.pushProgress.removeValue(forKey: streamID)
        if let identity = self.machine.registeredIdentity,
            let record = self.services.registry.moveToToken(
                delegateID: identity.delegateID, tokenID: newTokenID, connection: self)
        {
            self.services.writer.submit([.upsertDelegate(record)])
        }
        progress?(.acknowledged)
    }

    /// `LiveDelegateConnection`: hops to the loop and pushes APPROVAL_DECISION; approved, the delegate is now
    /// available for tasks; rejected, the connection closes once the push is written.
    func pushApprovalDecision(
        _ decision: ApprovalDecision, record: DelegateRecord, progress: @escaping @Sendable (PushEvent) -> Void
    ) {
        self.loopState.loop.execute {
            let push = TrackedPush.approvalDecision(approved: decision.approved)
            guard self.machine.registeredIdentity?.delegateID == record.id,
                let streamID = self.machine.allocatePush(push, now: self.loopState.loop.now)
            else {
                progress(.notSent)
                return
            }
            self.loopState.send(.push, method: push.kind, streamID: streamID, message: decision, on: self.connection)
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
}

// MARK: - Tasks: pushes out, reports answered once stored.

extension ManagerConnection: TaskConnection {
    func deliverOnLoop(_ items: [TaskOutgoing]) {
        guard !self.machine.isClosed else { return }
        let now = self.loopState.loop.now
        self.connection.coalescingWrites {
            for item in items {
                switch item {
                case .assign(let assignment):
                    let push = TrackedPush.taskAssign(taskID: assignment.taskID, attempt: assignment.attempt)
                    guard let streamID = self.machine.allocatePush(push, now: now) else { continue }
                    self.loopState.send(
                        .push, method: push.kind, streamID: streamID, message: assignment, on: self.connection)
                case .cancel(let cancel):
                    let push = TrackedPush.taskCancel(taskID: cancel.taskID, attempt: cancel.attempt)
                    guard let streamID = self.machine.allocatePush(push, now: now) else { continue }
                    self.loopState.send(
                        .push, method: push.kind, streamID: streamID, message: cancel, on: self.connection)
                case .answer(let method, let streamID, let refusal):
                    if let (code, message) = refusal {
                        self.loopState.send(
                            ServerConnectionMachine.errorFrame(method: method, streamID: streamID, code: code, message),
                            on: self.connection)
                    } else {
                        self.loopState.send(
                            .response, method: method, streamID: streamID, message: CallAck(), on: self.connection)
                    }
                }
            }
        }
    }
}
