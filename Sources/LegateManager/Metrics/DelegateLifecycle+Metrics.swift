import LegateAuth
import LegateCore
import LegateWire

extension DelegateLifecycle {
    /// Counts a JWT failure by coarse reason (an unknown key id of a revoked token counts as revoked).
    func countAuthenticationFailure(_ error: AuthError) {
        var revoked = false
        if case .unknownKeyID(let keyID) = error {
            revoked = self.services.tokens.entry(tokenID: keyID)?.status == .revoked
        }
        self.metrics.authFailures.increment(AuthFailureReason(error, revoked: revoked))
    }

    /// Counts a refused registration by what refused it: its fields, its credentials, or anything else.
    func countRefusal(_ refusal: RegistrationRefusal) {
        switch refusal.code {
        case .invalidArgument: break  // counted where the fields were checked
        case .unauthenticated: self.metrics.registrations.increment(.unauthenticated)
        case .permissionDenied where refusal.auditAction == "auth.failure" && refusal.detail.contains("revoked"):
            self.metrics.registrations.increment(.unauthenticated)
        default: self.metrics.registrations.increment(.refused)
        }
    }

    /// Counts an accepted registration: active, or waiting for approval.
    func countAccepted(_ record: DelegateRecord) {
        self.metrics.registrations.increment(record.status == .pending ? .pending : .accepted)
    }
}
