import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import LegateWire

/// The manager's side of a delegate's life on a connection: registration (verify the JWT, let
/// `RegistrationDecision` judge, spend the `jti`, persist, attach), startup-script reports, and disconnection.
/// `ManagerConnection` calls it and performs what it returns; it holds no state of its own.
struct DelegateLifecycle {
    let services: ManagerServices
    /// The counters of the connection's loop (registrations by result, authentication failures by reason).
    let metrics: LoopMetrics

    // MARK: - Registration

    /// Verifies and judges `request` from `peer` (on the connection's loop); an admitted record is persisted and
    /// `stored` runs on `loop` with it; a refusal is logged, audited and returned at once.
    func register(
        _ request: RegisterRequest, peer: String, loop: EventLoop,
        stored: @escaping @Sendable (DelegateRecord, StoreError?) -> Void
    ) -> RegistrationRefusal? {
        if let problem = RegistrationDecision.fieldProblem(in: request) {
            self.metrics.registrations.increment(.invalid)
            return RegistrationRefusal(
                code: .invalidArgument, message: problem, auditAction: "delegate.register", auditOutcome: "invalid",
                detail: problem)
        }
        let now = self.services.clock.unixMilliseconds()
        let verified: VerifiedJWT
        do {
            verified = try self.services.validator.verify(request.jwt, now: now / 1000)
        } catch {
            // A revoked token's holder that is not registered here gets no push, only the fatal status.
            let (code, message) = self.peerStatus(for: error)
            self.countAuthenticationFailure(error)
            return self.refused(
                RegistrationRefusal(
                    code: code, message: message, auditAction: "auth.failure", auditOutcome: "denied",
                    detail: error.description), request: request, peer: peer, reason: error.code)
        }
        let profileName = request.profile.isEmpty ? ProfileRecord.defaultName : request.profile
        let context = RegistrationContext(
            existing: self.services.registry.record(accountID: request.accountID, instanceID: request.instanceID),
            profile: self.services.profiles.profile(accountID: request.accountID, name: profileName),
            peerAddress: peer, now: now, pendingExpiry: self.services.configuration.pendingExpiry,
            newDelegateID: ManagerServices.newID(prefix: "dlg"))
        let admission: RegistrationAdmission
        switch RegistrationDecision.decide(request, verified: verified, context: context) {
        case .failure(let refusal):
            if refusal.code == .unauthenticated { self.metrics.authFailures.increment(.claims) }
            return self.refused(refusal, request: request, peer: peer)
        case .success(let admitted):
            admission = admitted
        }
        // Spent only now, so a refused registration can be retried with the same JWT; each token has its own
        // window, so one token's holder cannot fill anyone else's.
        switch self.services.replay.insert(
            jwtID: verified.claims.jwtID, keyID: verified.keyID, expiresAt: verified.claims.expiresAt,
            now: now / 1000)
        {
        case .fresh: break
        case .replayed:
            self.metrics.authFailures.increment(.replayed)
            return self.refused(.replayed, request: request, peer: peer)
        case .windowFull: return self.refused(.replayWindowFull, request: request, peer: peer)
        }
        var record = admission.record
        record.nodeID = self.services.cluster.nodeID
        // A delegate seen for the first time is announced, so every node can decide about it or take it over.
        let announced = context.existing == nil
            ? self.services.cluster.controls(
                .delegateChanged, subject: record.id, peers: self.services.cluster.cachedPeers) : []
        let audit = AuditRecord(
            sequence: 0, at: now, accountID: record.accountID, actor: "delegate:\(record.id)",
            action: "delegate.register", target: record.id, outcome: "ok",
            detail: "name=\(record.name) host=\(record.hostname) ip=\(record.ipAddress) token=\(record.tokenID) "
                + "profile=\(record.profile) state=\(record.status.rawValue)\(admission.note)")
        let writes: [StoreWrite] = [.upsertDelegate(record), .appendAudit(audit)]
        let written = record
        let isNew = context.existing == nil
        self.services.writer.submit(writes + announced.map { .insertNodeControl($0) }) { error in
            if isNew, case .constraint? = error { self.learnRegisteredElsewhere(written) }
            if error == nil { self.services.cluster.notify(announced) }
            loop.execute { stored(written, error) }
        }
        return nil
    }

    /// On the store writer's queue, after a first registration clashed with an existing record: the instance
    /// registered through another manager node before this one heard of it. Its record is loaded, so the
    /// delegate's retry (it was answered UNAVAILABLE) resumes that identity.
    private func learnRegisteredElsewhere(_ record: DelegateRecord) {
        guard let found = try? self.services.store.delegate(accountID: record.accountID, instanceID: record.instanceID)
        else { return }
        if !self.services.registry.update(found) { self.services.registry.load([found]) }
    }

    /// Logs and audits a refusal. Credential failures come from peers nobody has authenticated, so they are audited
    /// through the failure windows (one row per address and `reason` per window, not one per attempt).
    private func refused(
        _ refusal: RegistrationRefusal, request: RegisterRequest, peer: String, reason: String? = nil
    ) -> RegistrationRefusal {
        self.countRefusal(refusal)
        self.services.log.log(.warning, "registration refused", ["peer": peer, "reason": refusal.detail])
        if refusal.auditAction == "auth.failure" {
            self.services.audit.recordPeerFailure(
                address: ManagerConnection.host(of: peer), action: "auth.failure",
                reason: "register: " + (reason ?? refusal.detail), accountID: request.accountID)
        } else {
            self.services.audit(
                accountID: request.accountID, actor: "peer:\(peer)", action: refusal.auditAction,
                target: request.instanceID, outcome: refusal.auditOutcome, detail: refusal.detail)
        }
        return refusal
    }

    /// On the loop, once the record was written (or failed to be): applies a decision an admin made meanwhile, attaches `connection`
    /// (superseding an older one), and refuses if the token was revoked meanwhile. Returns the record to answer with.
    func attach(
        _ stored: DelegateRecord, error: StoreError?, connection: ManagerConnection
    ) -> Result<DelegateRecord, RegistrationRefusal> {
        if let error {
            self.metrics.registrations.increment(.storeError)
            self.services.log.log(.error, "registration not recorded", ["delegate.id": stored.id, "error": "\(error)"])
            return .failure(
                RegistrationRefusal(
                    code: .unavailable, message: "the manager could not record the registration; retry later",
                    auditAction: "delegate.register", auditOutcome: "unavailable", detail: "\(error)"))
        }
        var record = stored
        if record.status == .pending, let current = self.services.registry.record(id: record.id),
            current.status != .pending
        {
            // An approval of a delegate that was not attached yet reads `disconnected`: the decision wins.
            record.status = current.status == .rejected ? .rejected : .active
            record.decisionReason = current.decisionReason
            record.pendingExpiresAt = nil
            self.services.writer.submit([.upsertDelegate(record)])
            if record.status == .rejected {
                return .failure(.rejected(delegateID: record.id, reason: record.decisionReason))
            }
        }
        self.services.registry.attach(record, connection: connection)?.supersede()
        guard self.services.tokens.entry(tokenID: record.tokenID)?.status == .active else {
            // Revoked while the record was written; the revoke's fan-out may have missed this connection.
            _ = self.services.registry.detach(delegateID: record.id, connection: connection, at: self.services.clock.unixMilliseconds())
            self.storeDisconnected(record)
            return .failure(
                RegistrationRefusal(
                    code: .permissionDenied, message: "delegate token \(record.tokenID) has been revoked; install a new token",
                    auditAction: "auth.failure", auditOutcome: "denied", detail: "token revoked during registration"))
        }
        self.services.registry.membershipMayHaveChanged()
        self.services.log.log(
            .info, "delegate registered",
            ["delegate.id": record.id, "token.id": record.tokenID, "peer": connection.connection.peerAddress,
             "tls.resumed": "\(connection.connection.isSessionResumed)"])
        return .success(record)
    }

    /// `record`'s delegate is active and connected on `connection`: it may be given up to `capacity` tasks.
    func available(_ record: DelegateRecord, capacity: Int, connection: ManagerConnection) {
        // The token's scope says which tasks the delegate may run (its own scope and the ones below it). A token
        // is revoked before it can be deleted, and a revoked token's delegates are refused, so the entry exists.
        let scope = self.services.tokens.entry(tokenID: record.tokenID)?.scope ?? .account
        self.services.tasks.delegateAvailable(record, capacity: capacity, scope: scope, connection: connection)
    }

    /// The answer to an accepted registration.
    func response(for record: DelegateRecord) -> RegisterResponse {
        var response = RegisterResponse()
        response.delegateID = record.id
        response.state = record.status == .pending ? .pending : .active
        response.heartbeatIntervalMs = self.services.configuration.connection.heartbeatInterval.wireMilliseconds
        if record.status == .active {
            response.startupScript =
                self.services.profiles.profile(accountID: record.accountID, name: record.profile)?.startupScript ?? ""
        }
        return response
    }

    /// Stores `record` as not connected (its peer left, or was refused, while the record was written).
    func storeDisconnected(_ record: DelegateRecord) {
        var disconnected = record
        if disconnected.status == .active { disconnected.status = .disconnected }
        disconnected.connectedSince = nil
        disconnected.nodeID = nil
        disconnected.disconnectedAt = self.services.clock.unixMilliseconds()
        self.services.writer.submit([.upsertDelegate(disconnected)])
    }

    /// Logs and audits a heartbeat JWT failure; returns the coarse status the peer is told.
    func heartbeatRefused(_ error: AuthError, identity: DelegateIdentity, peer: String) -> (StatusCode, String) {
        self.countAuthenticationFailure(error)
        self.services.log.log(.warning, "heartbeat refused", ["peer": peer, "reason": error.description])
        self.services.audit.recordPeerFailure(
            address: ManagerConnection.host(of: peer), action: "auth.failure", reason: "heartbeat: \(error.code)",
            accountID: identity.accountID)
        return self.peerStatus(for: error)
    }

    /// The coarse status a peer is told for a JWT failure; the precise reason stays in the log and audit.
    func peerStatus(for error: AuthError) -> (StatusCode, String) {
        switch error {
        case .unknownKeyID(let keyID):
            if self.services.tokens.entry(tokenID: keyID)?.status == .revoked {
                return (.permissionDenied, "delegate token \(keyID) has been revoked; install a new token")
            }
            return (.unauthenticated, "unknown delegate token; check LEGATE_DELEGATE_TOKEN")
        case .expired, .notYetValid, .issuedInFuture:
            return (.unauthenticated, "JWT is outside its validity window; check the delegate's clock and re-mint")
        case .subjectMismatch:
            return (.unauthenticated, "the delegate token does not belong to this account")
        default:
            return (.unauthenticated, "JWT rejected; mint a fresh one")
        }
    }

    // MARK: - Reports and disconnection

    /// Bytes of script output kept in the audit row.
    static let maxAuditedOutputBytes = 1024

    /// Audits a startup-script report durably; `done` runs on `loop` with the refusal to answer, or nil.
    func recordStartupScript(
        _ report: StartupScriptReport, identity: DelegateIdentity, loop: EventLoop,
        done: @escaping @Sendable ((StatusCode, String)?) -> Void
    ) {
        var detail = "exit=\(report.exitCode) duration=\(report.durationMs)ms"
        if !report.error.isEmpty { detail += " error=\(Self.printable(Array(report.error.utf8)))" }
        detail += " output=\(Self.printable(report.output))"
        let audit = AuditRecord(
            at: self.services.clock.unixMilliseconds(), accountID: identity.accountID, actor: "delegate:\(identity.delegateID)",
            action: "delegate.startup_script", target: identity.delegateID,
            outcome: report.exitCode == 0 && report.error.isEmpty ? "ok" : "failed", detail: detail)
        let log = self.services.log
        self.services.writer.submit([.appendAudit(audit)]) { error in
            if let error { log.log(.error, "startup script report not recorded", ["error": "\(error)"]) }
            loop.execute {
                done(error.map { _ in (.unavailable, "the manager could not record the report; retry later") })
            }
        }
    }

    /// The first KiB of `bytes` as one printable line (control characters shown as `.`).
    static func printable(_ bytes: [UInt8]) -> String {
        let head = String(decoding: bytes.prefix(Self.maxAuditedOutputBytes), as: UTF8.self)
        let line = String(head.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "." : Character($0) })
        return bytes.count > Self.maxAuditedOutputBytes ? line + "...(\(bytes.count) bytes)" : line
    }

    /// `connection` of `identity` closed: its tasks are re-dispatched and the record says when it left.
    func disconnected(
        _ identity: DelegateIdentity, connection: ManagerConnection, lastHeartbeatAt: Int64, reason: String,
        selfDestructed: Bool = false
    ) {
        self.services.tasks.delegateUnavailable(identity.delegateID, connection: connection)
        guard
            var record = self.services.registry.detach(
                delegateID: identity.delegateID, connection: connection, at: self.services.clock.unixMilliseconds(),
                selfDestructed: selfDestructed)
        else { return }
        if lastHeartbeatAt > 0 { record.lastHeartbeatAt = lastHeartbeatAt }
        self.services.writer.submit([.upsertDelegate(record)])
        self.services.log.log(.info, "delegate disconnected", ["delegate.id": identity.delegateID, "reason": reason])
    }
}
