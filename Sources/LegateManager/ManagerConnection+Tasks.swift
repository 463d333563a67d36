import LegateCore
import LegateWire

// MARK: - Tasks on the delegate connection (issue 6).

extension ManagerConnection {
    /// A TaskUpdate or TaskResult call arrived from a registered delegate.
    func taskCallReceived(_ frame: Frame) {
        self.loopState.send(
            ServerConnectionMachine.errorFrame(for: frame, code: .unimplemented, "task calls are not served yet"),
            on: self.connection)
    }

    /// The delegate acknowledged a TASK_ASSIGN or TASK_CANCEL push.
    func taskPushAcknowledged(kind: UInt16, streamID: UInt32) {}

    /// This connection's delegate is now active and connected: it may be given tasks.
    func delegateBecameAvailable(_ record: DelegateRecord) {}

    /// This connection's delegate is gone (closed, rejected, deleted): its tasks must be re-dispatched.
    func delegateBecameUnavailable() {}
}
