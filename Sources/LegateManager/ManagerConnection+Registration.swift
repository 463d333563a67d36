import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import LegateWire

/// Bounds on registration fields, so a record never holds more than a person can read.
enum RegistrationLimits {
    static let maxTextBytes = 256
    static let maxListEntries = 64
}

extension ManagerConnection {
    /// A Register call arrived: authenticate it, record the delegate durably, then answer.
    func registrationReceived(streamID: UInt32, request: RegisterRequest) {
        if let problem = Self.fieldProblem(in: request) {
            self.loopState.metrics.registrations.increment(.invalid)
            self.perform(self.machine.registrationRefused(code: .invalidArgument, message: problem))
            return
        }
        let nowSeconds = WallClock.unixSeconds()
        let verified: VerifiedJWT
        do {
            verified = try self.services.validator.verify(request.jwt, now: nowSeconds)
        } catch {
            self.authenticationFailed(error, call: "register", accountID: request.accountID)
            return
        }
        let claims = verified.claims
        guard claims.subject == request.accountID else {
            self.refuseRegistration(
                .unauthenticated, "the delegate token does not belong to account \(request.accountID)",
                detail: "JWT subject differs from account_id", accountID: request.accountID)
            return
        }
        guard claims.issuer == request.instanceID else {
            self.refuseRegistration(
                .unauthenticated, "the JWT issuer must equal instance_id",
                detail: "JWT issuer differs from instance_id", accountID: request.accountID)
            return
        }
        guard
            self.services.replay.insertIfAbsent(jwtID: claims.jwtID, expiresAt: claims.expiresAt, now: nowSeconds)
        else {
            self.refuseRegistration(
                .unauthenticated, "this registration JWT was already used; mint a new one for each registration",
                detail: "registration JWT replayed", accountID: request.accountID)
            return
        }
        let existing = self.services.registry.record(accountID: request.accountID, instanceID: request.instanceID)
        if let existing, existing.status == .rejected {
            self.refuseRegistration(
                .permissionDenied, Self.rejectedMessage(existing.decisionReason),
                detail: "rejected delegate \(existing.id) tried to register", accountID: request.accountID)
            return
        }
        let profileName = request.profile.isEmpty ? ProfileRecord.defaultName : request.profile
        guard let profile = self.services.profiles.profile(accountID: request.accountID, name: profileName) else {
            self.loopState.metrics.registrations.increment(.refused)
            self.services.log.log(
                .warning, "registration refused", ["peer": self.connection.peerAddress, "reason": "unknown profile"])
            self.services.audit(
                accountID: request.accountID, actor: "peer:\(self.connection.peerAddress)", action: "delegate.register",
                target: request.instanceID, outcome: "notFound", detail: "profile \(profileName) does not exist")
            self.perform(
                self.machine.registrationRefused(
                    code: .notFound,
                    message: "profile \(profileName) does not exist; create it with legatectl profile create "
                        + "--name \(profileName), or register with an existing profile"))
            return
        }
        let (record, admission) = self.makeRecord(
            request: request, tokenID: verified.keyID, existing: existing, profile: profile)
        let audit = AuditRecord(
            sequence: 0, at: record.connectedSince ?? 0, accountID: record.accountID,
            actor: "delegate:\(record.id)", action: "delegate.register", target: record.id, outcome: "ok",
            detail: "name=\(record.name) host=\(record.hostname) ip=\(record.ipAddress) token=\(record.tokenID) "
                + "profile=\(record.profile) state=\(record.status.rawValue)\(admission)")
        let loop = self.loopState.loop
        self.services.writer.submit([.upsertDelegate(record), .appendAudit(audit)]) { error in
            loop.execute { self.registrationStored(streamID: streamID, record: record, error: error) }
        }
    }

    /// The registration is durable (or failed to be): attach and answer, or refuse.
    private func registrationStored(streamID: UInt32, record stored: DelegateRecord, error: StoreError?) {
        var record = stored
        if let error {
            self.loopState.metrics.registrations.increment(.storeError)
            self.services.log.log(.error, "registration not recorded", ["delegate.id": record.id, "error": "\(error)"])
            self.perform(
                self.machine.registrationRefused(
                    code: .unavailable, message: "the manager could not record the registration; retry later"))
            return
        }
        guard !self.machine.isClosed else {
            // The peer left while the record was written: it is not connected after all.
            var disconnected = record
            if disconnected.status == .active { disconnected.status = .disconnected }
            disconnected.connectedSince = nil
            disconnected.disconnectedAt = WallClock.unixMilliseconds()
            self.services.writer.submit([.upsertDelegate(disconnected)])
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
                self.perform(
                    self.machine.registrationRefused(
                        code: .permissionDenied, message: Self.rejectedMessage(record.decisionReason)))
                return
            }
        }
        self.identity = Identity(
            delegateID: record.id, accountID: record.accountID, tokenID: record.tokenID,
            instanceID: record.instanceID)
        let previous = self.services.registry.attach(record, connection: self)
        previous?.supersede()
        if self.services.tokens.entry(tokenID: record.tokenID)?.status != .active {
            // Revoked while this registration was being written: the revoke's fan-out may have missed it.
            self.pushSelfDestruct(
                reason: "delegate token \(record.tokenID) has been revoked", tokenID: record.tokenID, progress: nil)
            return
        }
        self.services.log.log(
            .info, "delegate registered",
            [
                "delegate.id": record.id, "token.id": record.tokenID, "peer": self.connection.peerAddress,
                "tls.resumed": "\(self.connection.isSessionResumed)",
            ])
        self.isPending = record.status == .pending
        self.loopState.metrics.registrations.increment(self.isPending ? .pending : .accepted)
        var response = RegisterResponse()
        response.delegateID = record.id
        response.state = record.status == .pending ? .pending : .active
        response.heartbeatIntervalMs = self.services.configuration.connection.heartbeatInterval.wireMilliseconds
        if record.status == .active {
            response.startupScript =
                self.services.profiles.profile(accountID: record.accountID, name: record.profile)?.startupScript ?? ""
        }
        self.perform(
            self.machine.registrationAccepted(streamID: streamID, response: response, now: self.loopState.loop.now))
        if record.status == .active { self.delegateBecameAvailable(record) }
    }

    private func refuseRegistration(_ code: StatusCode, _ message: String, detail: String, accountID: String) {
        self.countRefusedRegistration(code)
        self.services.log.log(.warning, "registration refused", ["peer": self.connection.peerAddress, "reason": detail])
        self.services.audit(
            accountID: accountID, actor: "peer:\(self.connection.peerAddress)", action: "auth.failure",
            target: "register", outcome: "denied", detail: detail)
        self.perform(self.machine.registrationRefused(code: code, message: message))
    }

    /// What a refused, rejected delegate is told.
    static func rejectedMessage(_ reason: String?) -> String {
        let why = (reason ?? "").isEmpty ? "no reason given" : (reason ?? "")
        return "this delegate was rejected by an administrator (\(why)); install a new delegate to register again"
    }

    /// The record to store for this registration and how it was admitted (for the audit). A delegate that was
    /// pending stays pending; one approved before stays approved; a new one is judged by its profile's rules.
    private func makeRecord(
        request: RegisterRequest, tokenID: String, existing: DelegateRecord?, profile: ProfileRecord
    ) -> (DelegateRecord, admission: String) {
        let now = WallClock.unixMilliseconds()
        let peerHost = Self.host(of: self.connection.peerAddress)
        var status = DelegateStatus.active
        var expiresAt: Int64?
        var admission = ""
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
                admission = " auto-approved by rule \(rule + 1)"
            case .pending:
                status = .pending
                expiresAt = now + self.services.configuration.pendingExpiry.int64Milliseconds
            }
        }
        let record = DelegateRecord(
            id: existing?.id ?? ManagerServices.newID(prefix: "dlg"),
            accountID: request.accountID, instanceID: request.instanceID, name: request.delegateName,
            hostname: request.hostname, ipAddress: request.ipAddress.isEmpty ? peerHost : request.ipAddress,
            version: request.version, tags: request.tags, taskTypes: request.taskTypes,
            profile: profile.name, tokenID: tokenID, status: status, firstSeenAt: existing?.firstSeenAt ?? now,
            connectedSince: now, lastHeartbeatAt: now, disconnectedAt: nil,
            decisionReason: existing?.decisionReason, pendingExpiresAt: expiresAt)
        return (record, admission)
    }

    /// A human-readable reason the request's fields are unacceptable, or nil.
    static func fieldProblem(in request: RegisterRequest) -> String? {
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
    static func host(of address: String) -> String {
        if address.hasPrefix("["), let end = address.firstIndex(of: "]") {
            return String(address[address.index(after: address.startIndex)..<end])
        }
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }
}
