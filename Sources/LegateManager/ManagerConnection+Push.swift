import LegateCore
import LegateNet
import LegateWire

// MARK: - SELF_DESTRUCT pushes (issue 4: revocation fan-out)

extension ManagerConnection {
    /// `LiveDelegateConnection`: the loop that owns this connection.
    var eventLoop: EventLoop { self.loopState.loop }

    /// `LiveDelegateConnection`: already on the loop (a fan-out batches its pushes per loop).
    func pushSelfDestructOnLoop(
        reason: String, tokenID: String, progress: @escaping @Sendable (PushEvent) -> Void
    ) {
        self.pushSelfDestruct(reason: reason, tokenID: tokenID, progress: progress)
    }

    /// `LiveDelegateConnection`: the fan-out's deadline passed without a PUSH_ACK from this delegate.
    func closeIfSelfDestructUnacknowledged() {
        guard self.selfDestructProgress != nil else { return }
        self.connection.close(flushFirst: false)
    }

    /// On the loop: writes SELF_DESTRUCT (at most once per connection) and arms the acknowledgement deadline.
    func pushSelfDestruct(reason: String, tokenID: String, progress: (@Sendable (PushEvent) -> Void)?) {
        if self.selfDestructAcknowledged {
            progress?(.sent)
            progress?(.acknowledged)
            return
        }
        guard !self.machine.isClosed else {
            progress?(.notSent)
            return
        }
        if self.selfDestructStreamID != nil {
            // Already told (a heartbeat overtook the fan-out): the fan-out waits for that push's PUSH_ACK.
            if let progress, self.selfDestructProgress == nil {
                self.selfDestructProgress = progress
                progress(.sent)
            } else {
                progress?(.notSent)
            }
            return
        }
        var message = SelfDestruct()
        message.reason = reason
        message.tokenID = tokenID
        message.code = .permissionDenied
        let streamID = self.machine.allocatePushStreamID()
        self.selfDestructStreamID = streamID
        self.selfDestructProgress = progress
        self.loopState.send(
            .push, method: PushKind.selfDestruct.rawValue, streamID: streamID, message: message, on: self.connection)
        progress?(.sent)
    }

    /// Reports the final outcome of a pending SELF_DESTRUCT once.
    func finishSelfDestruct(_ outcome: PushEvent) {
        guard let progress = self.selfDestructProgress else { return }
        self.selfDestructProgress = nil
        progress(outcome)
    }
}

// MARK: - TOKEN_ROTATED pushes (issue 4: rotation without redeploying)

extension ManagerConnection {
    /// `LiveDelegateConnection`: hops to the loop and pushes TOKEN_ROTATED.
    func sendTokenRotated(_ message: TokenRotated, progress: @escaping @Sendable (PushEvent) -> Void) {
        self.loopState.loop.execute {
            guard !self.machine.isClosed, self.selfDestructStreamID == nil, self.pendingRotation == nil,
                self.identity?.tokenID == message.oldTokenID
            else {
                progress(.notSent)
                return
            }
            let streamID = self.machine.allocatePushStreamID()
            self.pendingRotation = (streamID, message, progress)
            self.loopState.send(
                .push, method: PushKind.tokenRotated.rawValue, streamID: streamID, message: message,
                on: self.connection)
            progress(.sent)
        }
    }

    /// On the loop: the delegate switched; from now on its JWTs carry the new `kid`.
    func rotationAcknowledged(_ message: TokenRotated, progress: @Sendable (PushEvent) -> Void) {
        self.pendingRotation = nil
        guard var identity = self.identity else {
            progress(.closedWithoutAcknowledgement)
            return
        }
        identity.tokenID = message.newTokenID
        self.identity = identity
        if let record = self.services.registry.moveToToken(
            delegateID: identity.delegateID, tokenID: message.newTokenID, connection: self)
        {
            self.services.writer.submit([.upsertDelegate(record)])
        }
        progress(.acknowledged)
    }
}
