import LegateCore
import LegateWire

extension ManagerConnection {
    /// A Leave call: the delegate is stopping. Its held attempts are re-queued as lost at once (not after the
    /// lease) and no more work goes to this connection; answered CallAck once the re-queue is stored.
    func leaveReceived(streamID: UInt32, request: Leave) {
        guard let identity = self.machine.registeredIdentity else { return }
        self.services.log.log(
            .info, "delegate leaving",
            ["delegate.id": identity.delegateID, "reason": request.reason.isEmpty ? "not given" : request.reason])
        self.services.tasks.delegateLeaving(identity.delegateID, connection: self, streamID: streamID)
    }
}
