import LegateCore
import LegateNet
import LegateWire

// MARK: - Pending, approval decisions and the startup script (issue 5), on the client's loop.

/// What became of the profile's startup script (reported besides `DelegateEvent`, whose cases
/// tools/legate-load switches over exhaustively).
public enum StartupScriptEvent: Sendable, Equatable {
    /// The script ended; its report goes to the manager next.
    case finished(StartupScriptRunner.Outcome)
    /// The manager recorded the report (CallAck).
    case reported
}

extension DelegateClient {
    /// Registration answered (a pending one was reported as `.registered(state: .pending)`): run an active
    /// profile's startup script; send a report left over from a previous connection.
    func registrationAnswered(_ response: RegisterResponse) {
        if response.state != .pending, !response.startupScript.isEmpty {
            self.runStartupScript(response.startupScript)
        }
        if let report = self.unsentStartupReport {
            self.sendStartupReport(report)
        }
    }

    /// An admin decided: approved, run the startup script; rejected, stop for good with the admin's reason.
    func approvalDecided(_ decision: ApprovalDecision) {
        if decision.approved {
            if !decision.startupScript.isEmpty { self.runStartupScript(decision.startupScript) }
            return
        }
        self.isStopped = true
        self.heartbeatTimer?.cancel()
        self.heartbeatTimer = nil
        self.machine.connectionClosed()
        self.closeConnection()
        let reason = decision.reason.isEmpty ? "no reason given" : decision.reason
        self.onEvent(.stopped(code: .permissionDenied, message: "rejected by an administrator: \(reason)"))
    }

    private func runStartupScript(_ script: String) {
        guard !self.startupScriptStarted else { return }
        self.startupScriptStarted = true
        StartupScriptRunner.run(script) { outcome in
            self.loop.execute {
                self.onStartupScript?(.finished(outcome))
                var report = StartupScriptReport()
                report.exitCode = outcome.exitCode
                report.output = outcome.output
                report.error = outcome.error
                report.durationMs = outcome.duration.wireMilliseconds
                self.sendStartupReport(report)
            }
        }
    }

    /// Sends REQUEST 5 on a fresh call stream, or keeps it for the next registration when not registered now.
    private func sendStartupReport(_ report: StartupScriptReport) {
        guard !self.isStopped, let streamID = self.machine.allocateCallStreamID() else {
            self.unsentStartupReport = report
            return
        }
        self.unsentStartupReport = report  // until the manager acknowledges it
        self.send(.request, method: CallMethod.startupScriptReport.rawValue, streamID: streamID, message: report)
    }

    /// The manager answered the report: CallAck means it is recorded.
    func startupReportAnswered(_ frame: Frame) {
        guard frame.type == .response else { return }  // refused: kept, sent again after the next registration
        self.unsentStartupReport = nil
        self.onStartupScript?(.reported)
    }
}
