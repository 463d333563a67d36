import LegateCore
import LegateWire

// MARK: - SELF_DESTRUCT pushes (issue 4: revocation fan-out)

extension ManagerConnection {
    /// Deadline for a PUSH_ACK after SELF_DESTRUCT; the connection is closed regardless afterwards.
    static let selfDestructAcknowledgementTimeout: Duration = .seconds(2)

    /// `LiveDelegateConnection`: hops to the loop, pushes SELF_DESTRUCT and reports how it went.
    func sendSelfDestruct(
        reason: String, tokenID: String, progress: @escaping @Sendable (SelfDestructEvent) -> Void
    ) {
        self.loopState.loop.execute {
            self.pushSelfDestruct(reason: reason, tokenID: tokenID, progress: progress)
        }
    }

    /// On the loop: writes SELF_DESTRUCT (at most once per connection) and arms the acknowledgement deadline.
    func pushSelfDestruct(reason: String, tokenID: String, progress: (@Sendable (SelfDestructEvent) -> Void)?) {
        guard !self.machine.isClosed, self.selfDestructStreamID == nil else {
            progress?(.notSent)
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
        _ = self.loopState.loop.schedule(after: Self.selfDestructAcknowledgementTimeout) {
            self.loopState.loop.execute { self.connection.close(flushFirst: false) }
        }
    }

    /// Reports the final outcome of a pending SELF_DESTRUCT once.
    func finishSelfDestruct(_ outcome: SelfDestructEvent) {
        guard let progress = self.selfDestructProgress else { return }
        self.selfDestructProgress = nil
        progress(outcome)
    }
}
