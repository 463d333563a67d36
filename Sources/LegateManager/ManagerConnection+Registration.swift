import LegateCore
import LegateStore
import LegateWire

// MARK: - Registration and startup-script reports, through DelegateLifecycle.

extension ManagerConnection {
    var lifecycle: DelegateLifecycle { DelegateLifecycle(services: self.services, metrics: self.loopState.metrics) }

    /// A Register call arrived: judged and persisted by the lifecycle; answered here once durable.
    func registrationReceived(streamID: UInt32, request: RegisterRequest) {
        self.assertOnLoop()
        let refusal = self.lifecycle.register(request, peer: self.connection.peerAddress, loop: self.loopState.loop) {
            record, error in
            guard !self.machine.isClosed else { return self.lifecycle.storeDisconnected(record) }  // the peer left
            switch self.lifecycle.attach(record, error: error, connection: self) {
            case .failure(let refusal):
                self.perform(self.machine.registrationRefused(code: refusal.code, message: refusal.message))
            case .success(let record):
                self.lifecycle.countAccepted(record)
                let identity = DelegateIdentity(
                    delegateID: record.id, accountID: record.accountID, tokenID: record.tokenID,
                    instanceID: record.instanceID)
                self.perform(
                    self.machine.registrationAccepted(
                        streamID: streamID, response: self.lifecycle.response(for: record), identity: identity,
                        now: self.loopState.loop.now))
                if record.status == .active { self.delegateBecameAvailable(record) }
            }
        }
        if let refusal { self.perform(self.machine.registrationRefused(code: refusal.code, message: refusal.message)) }
    }

    /// This connection's delegate is now active and connected: it may be given tasks.
    func delegateBecameAvailable(_ record: DelegateRecord) {
        self.lifecycle.available(record, capacity: self.machine.registered?.capacity ?? 1, connection: self)
    }

    /// A StartupScriptReport: audited durably, then answered CallAck.
    func startupScriptReportReceived(streamID: UInt32, report: StartupScriptReport) {
        guard let identity = self.machine.registeredIdentity else { return }
        let method = CallMethod.startupScriptReport.rawValue
        self.lifecycle.recordStartupScript(report, identity: identity, loop: self.loopState.loop) { refusal in
            self.deliverOnLoop([.answer(method: method, streamID: streamID, refusal: refusal)])
        }
    }
}
