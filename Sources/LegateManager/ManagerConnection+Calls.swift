import LegateCore
import LegateWire

// MARK: - The admin API: one function to authenticate, one to serve a call; AdminGateway runs them off the loop.

extension ManagerConnection {
    /// AdminAuthenticate arrived: the key is checked off the loop and answered on it.
    func authenticateAdmin(streamID: UInt32, request: AdminAuthenticate) {
        let (peer, loop) = (self.connection.peerAddress, self.loopState.loop)
        AdminGateway(services: self.services).authenticate(apiKey: request.apiKey, peer: peer) { result in
            loop.execute {
                switch result {
                case .success(let session):
                    var response = AdminAuthenticated()
                    response.keyID = session.keyID
                    response.accountID = session.accountID
                    response.permissions = session.permissions.map(\.rawValue).sorted()
                    self.perform(
                        self.machine.adminAuthenticated(
                            streamID: streamID, session: session, response: response, now: loop.now))
                case .failure(let refusal):
                    self.services.log.log(.warning, "admin authentication refused", ["peer": peer, "reason": refusal.message])
                    self.perform(self.machine.adminAuthenticationRefused(code: refusal.code, message: refusal.message))
                }
            }
        }
    }

    /// An admin call on an authenticated admin connection: served off the loop, answered on it.
    func serveAdminCall(_ frame: Frame, session: AdminSession) {
        let loop = self.loopState.loop
        AdminGateway(services: self.services).serve(
            frame, session: session, maxResponseBytes: self.machine.peerMaxFrameBytes
        ) { result in
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
    }
}
