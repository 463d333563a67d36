import LegateCore
import LegateNet
import LegateStore
import LegateWire

// MARK: - Calls besides heartbeats: startup-script reports, and the admin API.

extension ManagerConnection {
    /// Bytes of script output kept in the audit row.
    static let maxAuditedOutputBytes = 1024

    /// A StartupScriptReport from the registered delegate: audit it durably, then answer CallAck.
    func startupScriptReportReceived(streamID: UInt32, report: StartupScriptReport) {
        guard let identity = self.machine.registeredIdentity else { return }
        var detail = "exit=\(report.exitCode) duration=\(report.durationMs)ms"
        if !report.error.isEmpty { detail += " error=\(Self.printable(Array(report.error.utf8)))" }
        detail += " output=\(Self.printable(report.output))"
        let audit = AuditRecord(
            at: WallClock.unixMilliseconds(), accountID: identity.accountID, actor: "delegate:\(identity.delegateID)",
            action: "delegate.startup_script", target: identity.delegateID,
            outcome: report.exitCode == 0 && report.error.isEmpty ? "ok" : "failed", detail: detail)
        let loop = self.loopState.loop
        let method = CallMethod.startupScriptReport.rawValue
        self.services.writer.submit([.appendAudit(audit)]) { error in
            loop.execute {
                if let error {
                    self.services.log.log(.error, "startup script report not recorded", ["error": "\(error)"])
                }
                let refusal = error.map { _ in (StatusCode.unavailable, "the manager could not record the report; retry later") }
                self.deliverOnLoop([.answer(method: method, streamID: streamID, refusal: refusal)])
            }
        }
    }

    /// The first KiB of `bytes` as one printable line (control characters shown as `.`).
    static func printable(_ bytes: [UInt8]) -> String {
        let head = String(decoding: bytes.prefix(Self.maxAuditedOutputBytes), as: UTF8.self)
        let line = String(head.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "." : Character($0) })
        return bytes.count > Self.maxAuditedOutputBytes ? line + "...(\(bytes.count) bytes)" : line
    }

    /// AdminAuthenticate arrived: check the key off the loop, then answer on it.
    func authenticateAdmin(streamID: UInt32, request: AdminAuthenticate) {
        guard let manager = self.services.manager.current else {
            self.perform(self.machine.adminAuthenticationRefused(code: .unavailable, message: "manager is stopping"))
            return
        }
        let peer = self.connection.peerAddress
        let loop = self.loopState.loop
        self.services.adminQueue.async {
            let result = manager.authenticateAdmin(apiKey: request.apiKey, peer: peer)
            loop.execute { self.adminAuthenticationChecked(streamID: streamID, result: result) }
        }
    }

    private func adminAuthenticationChecked(streamID: UInt32, result: Result<AdminSession, AdminRefusal>) {
        self.assertOnLoop()
        switch result {
        case .success(let session):
            var response = AdminAuthenticated()
            response.keyID = session.keyID
            response.accountID = session.accountID
            response.permissions = session.permissions.map(\.rawValue).sorted()
            self.perform(
                self.machine.adminAuthenticated(
                    streamID: streamID, session: session, response: response, now: self.loopState.loop.now))
        case .failure(let refusal):
            self.services.log.log(
                .warning, "admin authentication refused", ["peer": self.connection.peerAddress, "reason": refusal.message])
            self.perform(self.machine.adminAuthenticationRefused(code: refusal.code, message: refusal.message))
        }
    }

    /// An admin call on an authenticated admin connection: served off the loop, answered on it.
    func serveAdminCall(_ frame: Frame, session: AdminSession) {
        guard let manager = self.services.manager.current else {
            self.perform(.refuseCall(
                ServerConnectionMachine.errorFrame(for: frame, code: .unavailable, "manager is stopping")))
            return
        }
        let loop = self.loopState.loop
        let answer: @Sendable (Result<[UInt8], AdminRefusal>) -> Void = { result in
            loop.execute {
                guard !self.machine.isClosed else { return }
                switch result {
                case .success(let payload):
                    self.loopState.send(
                        Frame(type: .response, method: frame.method, streamID: frame.streamID, payload: payload),
                        on: self.connection)
                case .failure(let refusal):
                    self.loopState.send(
                        ServerConnectionMachine.errorFrame(for: frame, code: refusal.code, refusal.message),
                        on: self.connection)
                }
            }
        }
        if AdminMethod(rawValue: frame.method)?.isTaskCall == true {
            // Task calls never block: the task service answers when the work is stored (or done, for TaskWait).
            manager.serveTaskCall(method: frame.method, payload: frame.payload, session: session, reply: answer)
            return
        }
        self.services.adminQueue.async {
            answer(manager.serveAdminCall(method: frame.method, payload: frame.payload, session: session))
        }
    }
}
