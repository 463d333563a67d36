import LegateCore
import LegateWire

// MARK: - Admin API connections: authenticate off the loop, route calls, answer on the loop.

extension ManagerConnection {
    /// AdminAuthenticate arrived: check the key off the loop, then answer on it.
    func adminAuthenticationReceived(streamID: UInt32, request: AdminAuthenticate) {
        let peer = self.connection.peerAddress
        let loop = self.loopState.loop
        let adminKeys = self.services.adminKeys
        self.services.adminQueue.async {
            let result = adminKeys.authenticate(apiKey: request.apiKey, peer: peer)
            loop.execute { self.adminAuthenticationChecked(streamID: streamID, result: result) }
        }
    }

    private func adminAuthenticationChecked(streamID: UInt32, result: Result<AdminSession, AdminError>) {
        switch result {
        case .success(let session):
            self.adminSession = session
            var response = AdminAuthenticated()
            response.keyID = session.keyID
            response.accountID = session.accountID
            response.permissions = session.permissions.map(\.rawValue).sorted()
            let now = self.loopState.loop.now
            self.perform(self.machine.adminAuthenticated(streamID: streamID, response: response, now: now))
        case .failure(let refusal):
            self.services.log.log(
                .warning, "admin authentication refused", ["peer": self.connection.peerAddress, "reason": refusal.message])
            self.perform(self.machine.adminAuthenticationRefused(code: refusal.code, message: refusal.message))
        }
    }

    /// An admin call arrived on an authenticated admin connection: serve it off the loop, answer on it.
    func adminCallReceived(_ frame: Frame) {
        guard let session = self.adminSession else {
            self.perform(.refuseCall(
                ServerConnectionMachine.errorFrame(for: frame, code: .unavailable, "manager is stopping")))
            return
        }
        let loop = self.loopState.loop
        let answer: @Sendable (Result<[UInt8], AdminError>) -> Void = { result in
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
        // The router runs blocking calls on the admin queue; task calls answer when their work is stored.
        self.services.adminRouter.serve(
            method: frame.method, payload: frame.payload, session: session, reply: answer)
    }
}
