import LegateAuth

/// How a registration ended (the `result` label of `legate_registrations_total`).
enum RegistrationResult: String, CaseIterable, Sendable {
    case accepted
    case pending
    case invalid
    case unauthenticated
    case refused
    case storeError = "store_error"
}

/// Why a JWT or a delegate's identity was refused (the `reason` label of `legate_auth_failures_total`); coarse on
/// purpose, the precise reason is in the log and the audit.
enum AuthFailureReason: String, CaseIterable, Sendable {
    case unknownToken = "unknown_token"
    case revokedToken = "revoked_token"
    case timeWindow = "time_window"
    case badSignature = "bad_signature"
    case replayed
    case claims
    case malformed

    /// The reason for a validator error; `revoked` tells an unknown key id from a revoked token's.
    init(_ error: AuthError, revoked: Bool) {
        switch error {
        case .unknownKeyID: self = revoked ? .revokedToken : .unknownToken
        case .expired, .notYetValid, .issuedInFuture, .invalidLifetime: self = .timeWindow
        case .signatureMismatch, .invalidSignatureLength: self = .badSignature
        case .replayedJWTID: self = .replayed
        case .audienceMismatch, .issuerMismatch, .subjectMismatch, .missingClaim, .invalidClaimType, .emptyJWTID:
            self = .claims
        default: self = .malformed
        }
    }
}

/// Counters one event loop bumps on the delegate path: each loop owns its own set, so the heartbeat path pays one
/// uncontended relaxed atomic add and takes no lock; a scrape sums the loops.
final class LoopMetrics: Sendable {
    /// Heartbeats whose JWT verified and that were answered.
    let heartbeatsReceived = MetricCounter()
    /// Registered delegates closed because the heartbeat grace passed without a beat.
    let heartbeatsMissed = MetricCounter()
    /// Registrations by result.
    let registrations = LabeledCounters<RegistrationResult>()
    /// Authentication failures by reason.
    let authFailures = LabeledCounters<AuthFailureReason>()

    /// Creates zeroed counters.
    init() {}
}
