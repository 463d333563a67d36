import LegateAuth
import LegateWire

extension ManagerConnection {
    /// Counts a JWT failure by coarse reason, and a registration refused by it.
    func countAuthenticationFailure(_ error: AuthError) {
        var revoked = false
        if case .unknownKeyID(let keyID) = error {
            revoked = self.services.tokens.entry(tokenID: keyID)?.status == .revoked
        }
        self.loopState.metrics.authFailures.increment(AuthFailureReason(error, revoked: revoked))
        if self.identity == nil { self.loopState.metrics.registrations.increment(.unauthenticated) }
    }

    /// Counts a registration refused after its JWT verified: an identity mismatch or replay is an authentication
    /// failure too, a rejected delegate is a refusal.
    func countRefusedRegistration(_ code: StatusCode) {
        if code == .unauthenticated {
            self.loopState.metrics.authFailures.increment(.claims)
            self.loopState.metrics.registrations.increment(.unauthenticated)
        } else {
            self.loopState.metrics.registrations.increment(.refused)
        }
    }
}
