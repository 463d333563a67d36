import Dispatch
import LegateCore
import LegateWire

/// Where an admin connection's work goes: key checks run on the admin queue (they read the store), calls go to
/// the admin router (which runs each where its domain says); the answers come back through the given closures.
struct AdminGateway {
    let services: ManagerServices

    /// Checks `apiKey` off the loop; `done` gets the session or the refusal.
    func authenticate(
        apiKey: String, peer: String, done: @escaping @Sendable (Result<AdminSession, AdminError>) -> Void
    ) {
        let adminKeys = self.services.adminKeys
        self.services.adminQueue.async { done(adminKeys.authenticate(apiKey: apiKey, peer: peer)) }
    }

    /// Serves admin call `frame` for `session`; `reply` gets the encoded response (at most `maxResponseBytes`, the
    /// peer's frame limit) or the refusal.
    func serve(
        _ frame: Frame, session: AdminSession, maxResponseBytes: Int,
        reply: @escaping @Sendable (Result<[UInt8], AdminError>) -> Void
    ) {
        self.services.adminRouter.serve(
            method: frame.method, payload: frame.payload, session: session, maxResponseBytes: maxResponseBytes,
            reply: reply)
    }
}
