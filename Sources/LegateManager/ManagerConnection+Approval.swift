import LegateCore
import LegateNet
import LegateStore
import LegateWire

// MARK: - Approval on the delegate connection (issue 5).

extension ManagerConnection {
    /// Bytes of script output kept in the audit row.
    static let maxAuditedOutputBytes = 1024

    /// A StartupScriptReport call arrived from a registered delegate: audit it durably, then answer CallAck.
    func startupScriptReportReceived(_ frame: Frame) {
        guard let identity = self.identity else {
            self.loopState.send(
                ServerConnectionMachine.errorFrame(for: frame, code: .failedPrecondition, "register first"),
                on: self.connection)
            return
        }
        let report: StartupScriptReport
        do {
            report = try StartupScriptReport(protoBytes: frame.payload)
        } catch {
            self.loopState.send(
                ServerConnectionMachine.errorFrame(
                    for: frame, code: .invalidArgument, "StartupScriptReport is malformed: \(error)"),
                on: self.connection)
            return
        }
        var detail = "exit=\(report.exitCode) duration=\(report.durationMs)ms"
        if !report.error.isEmpty { detail += " error=\(Self.printable(Array(report.error.utf8)))" }
        detail += " output=\(Self.printable(report.output))"
        let audit = AuditRecord(
            at: WallClock.unixMilliseconds(), accountID: identity.accountID, actor: "delegate:\(identity.delegateID)",
            action: "delegate.startup_script", target: identity.delegateID,
            outcome: report.exitCode == 0 && report.error.isEmpty ? "ok" : "failed", detail: detail)
        let loop = self.loopState.loop
        let streamID = frame.streamID
        self.services.writer.submit([.appendAudit(audit)]) { error in
            loop.execute {
                guard !self.machine.isClosed else { return }
                if let error {
                    self.services.log.log(.error, "startup script report not recorded", ["error": "\(error)"])
                    self.loopState.send(
                        ServerConnectionMachine.errorFrame(
                            for: frame, code: .unavailable, "the manager could not record the report; retry later"),
                        on: self.connection)
                    return
                }
                self.loopState.send(
                    .response, method: CallMethod.startupScriptReport.rawValue, streamID: streamID, message: CallAck(),
                    on: self.connection)
            }
        }
    }

    /// The first KiB of `bytes` as one printable line (control characters shown as `.`).
    static func printable(_ bytes: [UInt8]) -> String {
        let head = String(decoding: bytes.prefix(Self.maxAuditedOutputBytes), as: UTF8.self)
        let line = String(head.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "." : Character($0) })
        return bytes.count > Self.maxAuditedOutputBytes ? line + "...(\(bytes.count) bytes)" : line
    }

    /// `LiveDelegateConnection`: hops to the loop and pushes APPROVAL_DECISION; approved, the delegate is now
    /// available for tasks; rejected, the connection closes once the push is written.
    func pushApprovalDecision(
        _ decision: ApprovalDecision, record: DelegateRecord, progress: @escaping @Sendable (PushEvent) -> Void
    ) {
        self.loopState.loop.execute {
            guard !self.machine.isClosed, self.selfDestructStreamID == nil, self.identity?.delegateID == record.id
            else {
                progress(.notSent)
                return
            }
            let streamID = self.machine.allocatePushStreamID()
            self.loopState.send(
                .push, method: PushKind.approvalDecision.rawValue, streamID: streamID, message: decision,
                on: self.connection)
            progress(.sent)
            if decision.approved {
                self.isPending = false
                self.delegateBecameAvailable(record)
            } else {
                self.services.log.log(.info, "delegate rejected; closing", ["delegate.id": record.id])
                self.connection.close(flushFirst: true)
            }
        }
    }
}
