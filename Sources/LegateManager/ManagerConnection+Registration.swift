import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import LegateWire

extension ManagerConnection {
    /// A Register call arrived: verify its JWT, let `RegistrationDecision` judge it, spend its `jti`, persist.
    func registrationReceived(streamID: UInt32, request: RegisterRequest) {
        self.assertOnLoop()
        if let problem = RegistrationDecision.fieldProblem(in: request) {
            self.perform(self.machine.registrationRefused(code: .invalidArgument, message: problem))
            return
        }
        let now = WallClock.unixMilliseconds()
        let verified: VerifiedJWT
        do {
            verified = try self.services.validator.verify(request.jwt, now: now / 1000)
        } catch {
            // A revoked token's holder that is not registered here gets no push, only the fatal status.
            let (code, message) = self.peerStatus(for: error)
            self.services.log.log(
                .warning, "register refused", ["peer": self.connection.peerAddress, "reason": error.description])
            self.audit(request.accountID, "auth.failure", "register", error.description)
            self.perform(self.machine.registrationRefused(code: code, message: message))
            return
        }
        let profileName = request.profile.isEmpty ? ProfileRecord.defaultName : request.profile
        let context = RegistrationContext(
            existing: self.services.registry.record(accountID: request.accountID, instanceID: request.instanceID),
            profile: self.services.profiles.profile(accountID: request.accountID, name: profileName),
            peerAddress: self.connection.peerAddress, now: now,
            pendingExpiry: self.services.configuration.pendingExpiry, newDelegateID: ManagerServices.newID(prefix: "dlg"))
        var decision = RegistrationDecision.decide(request, verified: verified, context: context)
        if case .success = decision,
            !self.services.replay.insertIfAbsent(
                jwtID: verified.claims.jwtID, expiresAt: verified.claims.expiresAt, now: now / 1000)
        {
            decision = .failure(.replayed)
        }
        switch decision {
        case .failure(let refusal):
            self.services.log.log(
                .warning, "registration refused", ["peer": self.connection.peerAddress, "reason": refusal.detail])
            let target = refusal.auditAction == "auth.failure" ? "register" : request.instanceID
            self.audit(request.accountID, refusal.auditAction, target, refusal.detail, outcome: refusal.auditOutcome)
            self.perform(self.machine.registrationRefused(code: refusal.code, message: refusal.message))
        case .success(let admission):
            let record = admission.record
            let audit = AuditRecord(
                sequence: 0, at: now, accountID: record.accountID, actor: "delegate:\(record.id)",
                action: "delegate.register", target: record.id, outcome: "ok",
                detail: "name=\(record.name) host=\(record.hostname) ip=\(record.ipAddress) token=\(record.tokenID) "
                    + "profile=\(record.profile) state=\(record.status.rawValue)\(admission.note)")
            let loop = self.loopState.loop
            self.services.writer.submit([.upsertDelegate(record), .appendAudit(audit)]) { error in
                loop.execute { self.registrationStored(streamID: streamID, record: record, error: error) }
            }
        }
    }

    /// The registration is durable (or failed to be): attach and answer, or refuse.
    private func registrationStored(streamID: UInt32, record stored: DelegateRecord, error: StoreError?) {
        var record = stored
        if let error {
            self.services.log.log(.error, "registration not recorded", ["delegate.id": record.id, "error": "\(error)"])
            self.perform(
                self.machine.registrationRefused(
                    code: .unavailable, message: "the manager could not record the registration; retry later"))
            return
        }
        guard !self.machine.isClosed else {
            // The peer left while the record was written: it is not connected after all.
            self.storeDisconnected(record)
            return
        }
        if record.status == .pending, let current = self.services.registry.record(id: record.id),
            current.status != .pending
        {
            // An admin decided while this registration was being written (an approval of a delegate that was
            // not attached yet reads `disconnected`): the decision wins.
            record.status = current.status == .rejected ? .rejected : .active
            record.decisionReason = current.decisionReason
            record.pendingExpiresAt = nil
            self.services.writer.submit([.upsertDelegate(record)])
            if record.status == .rejected {
                let refusal = RegistrationRefusal.rejected(delegateID: record.id, reason: record.decisionReason)
                self.perform(self.machine.registrationRefused(code: refusal.code, message: refusal.message))
                return
            }
        }
        let previous = self.services.registry.attach(record, connection: self)
        previous?.supersede()
        if self.services.tokens.entry(tokenID: record.tokenID)?.status != .active {
            // Revoked while this registration was being written; the revoke's fan-out may have missed it. It never
            // was registered, so it gets no push, only the fatal status.
            _ = self.services.registry.detach(
                delegateID: record.id, connection: self, at: WallClock.unixMilliseconds())
            self.storeDisconnected(record)
            self.perform(
                self.machine.registrationRefused(
                    code: .permissionDenied,
                    message: "delegate token \(record.tokenID) has been revoked; install a new token"))
            return
        }
        self.services.log.log(
            .info, "delegate registered",
            [
                "delegate.id": record.id, "token.id": record.tokenID, "peer": self.connection.peerAddress,
                "tls.resumed": "\(self.connection.isSessionResumed)",
            ])
        var response = RegisterResponse()
        response.delegateID = record.id
        response.state = record.status == .pending ? .pending : .active
        response.heartbeatIntervalMs = self.services.configuration.connection.heartbeatInterval.wireMilliseconds
        if record.status == .active {
            response.startupScript =
                self.services.profiles.profile(accountID: record.accountID, name: record.profile)?.startupScript ?? ""
        }
        let identity = DelegateIdentity(
            delegateID: record.id, accountID: record.accountID, tokenID: record.tokenID,
            instanceID: record.instanceID)
        self.perform(
            self.machine.registrationAccepted(
                streamID: streamID, response: response, identity: identity, now: self.loopState.loop.now))
        if record.status == .active { self.delegateBecameAvailable(record) }
    }

    private func storeDisconnected(_ record: DelegateRecord) {
        var disconnected = record
        if disconnected.status == .active { disconnected.status = .disconnected }
        disconnected.connectedSince = nil
        disconnected.disconnectedAt = WallClock.unixMilliseconds()
        self.services.writer.submit([.upsertDelegate(disconnected)])
    }

    /// This connection's delegate is now active and connected: it may be given tasks.
    func delegateBecameAvailable(_ record: DelegateRecord) {
        // The token's scope says which tasks the delegate may run (its own scope and the ones below it). A token
        // is revoked before it can be deleted, and a revoked token's delegates are refused, so the entry exists.
        let scope = self.services.tokens.entry(tokenID: record.tokenID)?.scope ?? .account
        self.services.tasks.delegateAvailable(
            record, capacity: self.machine.registered?.capacity ?? 1, scope: scope, connection: self)
    }
}
