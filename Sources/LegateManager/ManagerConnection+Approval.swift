import LegateCore
import LegateWire

// MARK: - Approval on the delegate connection (issue 5).

extension ManagerConnection {
    /// A StartupScriptReport call arrived from a registered delegate.
    func startupScriptReportReceived(_ frame: Frame) {
        self.loopState.send(
            ServerConnectionMachine.errorFrame(for: frame, code: .unimplemented, "startup script reports are not served yet"),
            on: self.connection)
    }
}
