import LegateAuth
import LegateWire

/// Why a registration was refused: what the peer is told, and what the audit log records.
public struct RegistrationRefusal: Sendable, Equatable, Error {
    /// Status sent to the peer on stream 0 before the connection closes.
    public var code: StatusCode
    /// Message for the peer: what happened and what to do.
    public var message: String
    /// Audit action of the refusal (`auth.failure` for credential problems, `delegate.register` otherwise).
    public var auditAction: String
    /// Audit outcome (`denied`, `notFound`, `invalid`, `unavailable`).
    public var auditOutcome: String
    /// The precise reason, for the log and the audit row only.
    public var detail: String

    /// Creates a refusal.
    public init(code: StatusCode, message: String, auditAction: String, auditOutcome: String, detail: String) {
        self.code = code
        self.message = message
        self.auditAction = auditAction
        self.auditOutcome = auditOutcome
        self.detail = detail
    }

    /// The registration JWT's `jti` was already used within its lifetime.
    public static let replayed = RegistrationRefusal(
        code: .unauthenticated,
        message: "this registration JWT was already used; mint a new one (fresh jti) for each registration",
        auditAction: "auth.failure", auditOutcome: "denied", detail: "registration JWT replayed")

    /// The replay window of the token is full of unexpired `jti`s: retryable, not a replay.
    public static let replayWindowFull = RegistrationRefusal(
        code: .unavailable,
        message: "too many registrations with this token in the JWT lifetime; retry with backoff",
        auditAction: "auth.failure", auditOutcome: "unavailable", detail: "registration replay window full")

    /// What a rejected delegate is told when it tries to register again.
    public static func rejected(delegateID: String, reason: String?) -> RegistrationRefusal {
        let why = (reason ?? "").isEmpty ? "no reason given" : (reason ?? "")
        return RegistrationRefusal(
            code: .permissionDenied,
            message: "this delegate was rejected by an administrator (\(why)); install a new delegate to register again",
            auditAction: "auth.failure", auditOutcome: "denied", detail: "rejected delegate \(delegateID) tried to register")
    }
}

/// Everything the registration decision reads besides the request and its verified JWT.
public struct RegistrationContext: Sendable {
    /// The record of this (account, instance), if one exists.
    public var existing: DelegateRecord?
    /// The profile the request names (or `default`), nil when it does not exist.
    public var profile: ProfileRecord?
    /// The peer's "host:port" as the manager sees it.
    public var peerAddress: String
    /// Wall-clock time, Unix milliseconds.
    public var now: Int64
    /// How long a new pending registration waits for a decision.
    public var pendingExpiry: Duration
    /// The id a new delegate gets (ignored when `existing` is set).
    public var newDelegateID: String

    /// Creates the context of one registration.
    public init(
        existing: DelegateRecord?, profile: ProfileRecord?, peerAddress: String, now: Int64,
        pendingExpiry: Duration, newDelegateID: String
    ) {
        self.existing = existing
        self.profile = profile
        self.peerAddress = peerAddress
        self.now = now
        self.pendingExpiry = pendingExpiry
        self.newDelegateID = newDelegateID
    }
}

/// The record to persist for an accepted registration and how it was admitted.
public struct RegistrationAdmission: Sendable, Equatable {
    /// The delegate record to store (connected as of `now`).
    public var record: DelegateRecord
    /// Admission note for the audit row (empty, or " auto-approved by rule N").
    public var note: String
}

/// Bounds on registration fields, so a record never holds more than a person can read.
public enum RegistrationLimits {
    /// Longest text field, in UTF-8 bytes.
    public static let maxTextBytes = 256
    /// Most entries in `tags` or `task_types`.
    public static let maxListEntries = 64
    /// Size of an X25519 device public key.
    public static let devicePublicKeyBytes = 32
}

/// The pure decision on one Register call whose JWT verified: refuse, or the record to persist.
///
/// The replay cache is not consulted here: the caller inserts the `jti` only once this returns an admission, so a
/// refused registration never burns a `jti` slot of the token.
public enum RegistrationDecision {
    /// Decides `request`, whose JWT verified as `verified`, against `context`.
    public static func decide(
        _ request: RegisterRequest, verified: VerifiedJWT, context: RegistrationContext
    ) -> Result<RegistrationAdmission, RegistrationRefusal> {
        if let problem = self.fieldProblem(in: request) {
            return .failure(
                RegistrationRefusal(
                    code: .invalidArgument, message: problem, auditAction: "delegate.register",
                    auditOutcome: "invalid", detail: problem))
        }
        let claims = verified.claims
        guard claims.subject == request.accountID else {
            return .failure(
                RegistrationRefusal(
                    code: .unauthenticated,
                    message: "the delegate token does not belong to account \(request.accountID)",
                    auditAction: "auth.failure", auditOutcome: "denied", detail: "JWT subject differs from account_id"))
        }
        guard claims.issuer == request.instanceID else {
            return .failure(
                RegistrationRefusal(
                    code: .unauthenticated, message: "the JWT issuer must equal instance_id",
                    auditAction: "auth.failure", auditOutcome: "denied", detail: "JWT issuer differs from instance_id"))
        }
        if let existing = context.existing, existing.status == .rejected {
            return .failure(.rejected(delegateID: existing.id, reason: existing.decisionReason))
        }
        let profileName = request.profile.isEmpty ? ProfileRecord.defaultName : request.profile
        guard let profile = context.profile else {
            return .failure(
                RegistrationRefusal(
                    code: .notFound,
                    message: "profile \(profileName) does not exist; create it with legatectl profile create "
                        + "--name \(profileName), or register with an existing profile",
                    auditAction: "delegate.register", auditOutcome: "notFound",
                    detail: "profile \(profileName) does not exist"))
        }
        return .success(self.admission(request, tokenID: verified.keyID, profile: profile, context: context))
    }

    /// A pending delegate stays pending; one approved before stays approved; a new one is judged by its profile.
    static func admission(
        _ request: RegisterRequest, tokenID: String, profile: ProfileRecord, context: RegistrationContext
    ) -> RegistrationAdmission {
        let peerHost = self.host(of: context.peerAddress)
        let existing = context.existing
        var status = DelegateStatus.active
        var expiresAt: Int64?
        var note = ""
        if let existing {
            if existing.status == .pending {
                status = .pending
                expiresAt = existing.pendingExpiresAt
            }
        } else {
            let facts = RegistrationFacts(peerAddress: peerHost, hostname: request.hostname, tokenID: tokenID)
            switch profile.admission(of: facts) {
            case .notRequired:
                break
            case .autoApproved(let rule):
                note = " auto-approved by rule \(rule + 1)"
            case .pending:
                status = .pending
                expiresAt = context.now + context.pendingExpiry.int64Milliseconds
            }
        }
        let record = DelegateRecord(
            id: existing?.id ?? context.newDelegateID,
            accountID: request.accountID, instanceID: request.instanceID, name: request.delegateName,
            hostname: request.hostname, ipAddress: request.ipAddress.isEmpty ? peerHost : request.ipAddress,
            version: request.version, tags: request.tags, taskTypes: request.taskTypes,
            profile: profile.name, tokenID: tokenID, status: status, firstSeenAt: existing?.firstSeenAt ?? context.now,
            connectedSince: context.now, lastHeartbeatAt: context.now, disconnectedAt: nil,
            decisionReason: existing?.decisionReason, pendingExpiresAt: expiresAt)
        var admitted = record
        admitted.devicePublicKey = request.devicePublicKey
        return RegistrationAdmission(record: admitted, note: note)
    }

    /// A human-readable reason the request's fields are unacceptable, or nil.
    public static func fieldProblem(in request: RegisterRequest) -> String? {
        let required: [(String, String)] = [
            ("account_id", request.accountID), ("instance_id", request.instanceID),
            ("delegate_name", request.delegateName), ("jwt", request.jwt),
        ]
        for (name, value) in required where value.isEmpty {
            return "\(name) is required"
        }
        let texts: [(String, String)] = [
            ("account_id", request.accountID), ("instance_id", request.instanceID),
            ("delegate_name", request.delegateName), ("hostname", request.hostname),
            ("ip_address", request.ipAddress), ("version", request.version), ("profile", request.profile),
        ]
        for (name, value) in texts where value.utf8.count > RegistrationLimits.maxTextBytes {
            return "\(name) of \(value.utf8.count) bytes exceeds \(RegistrationLimits.maxTextBytes)"
        }
        if !request.devicePublicKey.isEmpty, request.devicePublicKey.count != RegistrationLimits.devicePublicKeyBytes {
            return "device_public_key of \(request.devicePublicKey.count) bytes is not an X25519 public key "
                + "(\(RegistrationLimits.devicePublicKeyBytes) bytes)"
        }
        for (name, list) in [("tags", request.tags), ("task_types", request.taskTypes)] {
            if list.count > RegistrationLimits.maxListEntries {
                return "\(name) has \(list.count) entries; at most \(RegistrationLimits.maxListEntries) are allowed"
            }
            if let long = list.first(where: { $0.utf8.count > RegistrationLimits.maxTextBytes || $0.isEmpty }) {
                return "\(name) entry of \(long.utf8.count) bytes is outside 1...\(RegistrationLimits.maxTextBytes)"
            }
        }
        return nil
    }

    /// The host part of "host:port" or "[v6]:port".
    public static func host(of address: String) -> String {
        if address.hasPrefix("["), let end = address.firstIndex(of: "]") {
            return String(address[address.index(after: address.startIndex)..<end])
        }
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }
}
