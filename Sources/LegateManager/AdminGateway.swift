import Dispatch
import LegateCore
import LegateWire

/// Where an admin connection's work goes: key checks and calls run off the event loops (they block on the store
/// or wait for acknowledgements); the answers come back through the given closures.
struct AdminGateway {
    let services: ManagerServices

    /// Checks `apiKey` off the loop; `done` gets the session or the refusal.
    func authenticate(
        apiKey: String, peer: String, done: @escaping @Sendable (Result<AdminSession, AdminRefusal>) -> Void
    ) {
        guard let manager = self.services.manager.current else {
            return done(.failure(AdminRefusal(code: .unavailable, message: "manager is stopping")))
        }
        self.services.adminQueue.async { done(manager.authenticateAdmin(apiKey: apiKey, peer: peer)) }
    }

    /// Serves admin call `frame` for `session`; `reply` gets the encoded response or the refusal.
    func serve(
        _ frame: Frame, session: AdminSession, reply: @escaping @Sendable (Result<[UInt8], AdminRefusal>) -> Void
    ) {
        guard let manager = self.services.manager.current else {
            return reply(.failure(AdminRefusal(code: .unavailable, message: "manager is stopping")))
        }
        if AdminMethod(rawValue: frame.method)?.isTaskCall == true {
            // Task calls never block: the task service answers when the work is stored (or done, for TaskWait).
            manager.serveTaskCall(method: frame.method, payload: frame.payload, session: session, reply: reply)
        } else {
            self.services.adminQueue.async {
                reply(manager.serveAdminCall(method: frame.method, payload: frame.payload, session: session))
            }
        }
    }
}
