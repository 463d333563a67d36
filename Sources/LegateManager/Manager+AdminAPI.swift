import LegateCore
import LegateNet
import LegateStore
import LegateWire

// MARK: - Admin API calls (REQUEST methods 101...110): authorise, perform, audit, answer.

extension Manager {
    /// Serves one admin call for `session`; the result is the RESPONSE payload or the refusal to send.
    /// Blocking (store reads, a revoke waiting for acknowledgements): call off the event loops.
    public func serveAdminCall(method: UInt16, payload: [UInt8], session: AdminSession)
        -> Result<[UInt8], AdminRefusal>
    {
        guard let call = AdminMethod(rawValue: method), call != .authenticate else {
            return .failure(AdminRefusal(code: .unimplemented, message: "admin method \(method) does not exist"))
        }
        if let denied = self.missingPermission(call, session: session) { return .failure(denied) }
        let result: Result<[UInt8], AdminRefusal>
        do {
            result = .success(try self.perform(call, payload: payload, session: session))
        } catch let refusal as AdminRefusal {
            result = .failure(refusal)
        } catch let error as WireError {
            result = .failure(AdminRefusal(code: .invalidArgument, message: "request is malformed: \(error)"))
        } catch let error as ManagerError {
            result = .failure(Self.refusal(for: error))
        } catch {
            result = .failure(AdminRefusal(code: .internal, message: "\(error)"))
        }
        self.auditCall(call, session: session, result: result.map { _ in () })
        return result
    }

    /// The refusal (audited) if `session` lacks a permission `call` needs; nil when it may proceed.
    func missingPermission(_ call: AdminMethod, session: AdminSession) -> AdminRefusal? {
        guard let missing = Self.permissions(for: call).first(where: { !session.allows($0) }) else { return nil }
        self.services.audit(
            accountID: session.accountID, actor: session.actor, action: "api.\(call)", target: "-",
            outcome: "denied", detail: "keyScope=\(session.scope) missing permission \(missing.rawValue)")
        return AdminRefusal(
            code: .permissionDenied,
            message: "admin key \(session.keyID) lacks permission \(missing.rawValue); ask an account admin for it")
    }

    /// Records how an admin call ended.
    func auditCall(_ call: AdminMethod, session: AdminSession, result: Result<Void, AdminRefusal>, target: String = "-",
                   detail extra: String = "") {
        let outcome: String
        var detail = "keyScope=\(session.scope)"
        if !extra.isEmpty { detail += " " + extra }
        switch result {
        case .success: outcome = "ok"
        case .failure(let refusal):
            outcome = "\(refusal.code)"
            if refusal.code == .permissionDenied { detail += " \(refusal.message)" }
        }
        self.services.audit(
            accountID: session.accountID, actor: session.actor, action: "api.\(call)", target: target,
            outcome: outcome, detail: detail)
    }

    static func permissions(for call: AdminMethod) -> [AdminPermission] {
        switch call {
        case .authenticate: return []
        case .tokenList, .tokenShow, .delegateList, .delegateShow: return [.delegateView]
        case .tokenCreate, .tokenCopy: return [.delegateEdit]
        case .tokenRevoke, .tokenDelete: return [.delegateDelete]
        case .tokenRotate: return [.delegateEdit, .delegateDelete]
        case .auditList: return [.accountAdmin]
        case .profileList, .delegatePendingList: return [.delegateView]
        case .profileCreate, .profileUpdate: return [.delegateEdit]
        case .profileDelete, .delegateDelete: return [.delegateDelete]
        case .delegateApprove, .delegateReject: return [.delegateApprove]
        case .taskSubmit, .taskCancel: return [.taskSubmit]
        case .taskGet, .taskList, .taskLogs, .taskWait: return [.taskView]
        }
    }

    static func refusal(for error: ManagerError) -> AdminRefusal {
        switch error {
        case .notFound: return AdminRefusal(code: .notFound, message: error.description)
        case .conflict: return AdminRefusal(code: .failedPrecondition, message: error.description)
        case .invalidConfiguration: return AdminRefusal(code: .invalidArgument, message: error.description)
        default: return AdminRefusal(code: .unavailable, message: error.description)
        }
    }

    private func perform(_ call: AdminMethod, payload: [UInt8], session: AdminSession) throws -> [UInt8] {
        switch call {
        case .authenticate:
            throw AdminRefusal(code: .failedPrecondition, message: "already authenticated")
        case .tokenCreate:
            let request = try TokenCreateRequest(protoBytes: payload)
            let scope: Scope
            do {
                scope = try Scope(parsing: request.scope)
            } catch {
                throw AdminRefusal(code: .invalidArgument, message: error.description)
            }
            guard session.scope.covers(scope) else {
                throw AdminRefusal(
                    code: .permissionDenied,
                    message: "admin key \(session.keyID) has scope \(session.scope), which does not cover scope "
                        + "\(scope); pass a --scope inside \(session.scope) or use a key with a wider scope")
            }
            let expiresAt = request.expiresInSeconds > 0
                ? WallClock.unixMilliseconds() + request.expiresInSeconds * 1000 : nil
            let created = try self.createToken(
                accountID: session.accountID, name: request.name, actor: session.actor, expiresAt: expiresAt,
                scope: scope)
            var response = TokenCreateResponse()
            response.token = try self.tokenInfo(id: created.record.id, session: session)
            response.value = created.value
            return response.protoBytes()
        case .tokenList:
            let request = try TokenListRequest(protoBytes: payload)
            var response = TokenListResponse()
            response.tokens = try self.tokenSummaries(accountID: session.accountID)
                .filter { Self.scope(session.scope, covers: $0.scope) }
                .filter { request.nameContains.isEmpty || $0.name.contains(request.nameContains) }
                .map(Self.info(from:))
            return response.protoBytes()
        case .tokenShow:
            let request = try TokenRef(protoBytes: payload)
            var response = TokenShowResponse()
            response.token = try self.tokenInfo(id: request.tokenID, session: session)
            response.delegates = try self.delegateInfos(session: session, tokenID: request.tokenID)
            return response.protoBytes()
        case .tokenCopy:
            let request = try TokenRef(protoBytes: payload)
            let record = try self.ownedToken(id: request.tokenID, session: session)
            let token = try TokenSealing.open(record, with: self.masterKey)
            self.services.audit(
                accountID: session.accountID, actor: session.actor, action: "token.copy", target: record.id,
                outcome: "ok", detail: "name=\(record.name) scope=\(record.scope)")
            var response = TokenCopyResponse()
            response.value = token.value
            return response.protoBytes()
        case .tokenRevoke:
            let request = try TokenRevokeRequest(protoBytes: payload)
            _ = try self.ownedToken(id: request.tokenID, session: session)
            let report = try self.revokeToken(id: request.tokenID, actor: session.actor, dryRun: request.dryRun)
            var response = TokenRevokeResponse()
            response.tokenID = report.tokenID
            response.dryRun = report.dryRun
            response.wasAlreadyRevoked = report.wasAlreadyRevoked
            response.connected = UInt32(clamping: report.connected)
            response.told = UInt32(clamping: report.told)
            response.acknowledged = UInt32(clamping: report.acknowledged)
            response.notReached = UInt32(clamping: report.notReached)
            response.fanOutMs = report.fanOutDuration.wireMilliseconds
            return response.protoBytes()
        case .tokenDelete:
            let request = try TokenRef(protoBytes: payload)
            _ = try self.ownedToken(id: request.tokenID, session: session)
            try self.deleteToken(id: request.tokenID, actor: session.actor)
            var response = TokenDeleteResponse()
            response.tokenID = request.tokenID
            return response.protoBytes()
        case .tokenRotate:
            let request = try TokenRotateRequest(protoBytes: payload)
            _ = try self.ownedToken(id: request.tokenID, session: session)
            let overlap = request.overlapSeconds > 0
                ? Duration.seconds(Int64(request.overlapSeconds)) : Manager.defaultRotationOverlap
            let report = try self.rotateToken(id: request.tokenID, actor: session.actor, overlap: overlap)
            var response = TokenRotateResponse()
            response.token = try self.tokenInfo(id: report.token.id, session: session)
            response.value = report.value
            response.connected = UInt32(clamping: report.connected)
            response.told = UInt32(clamping: report.told)
            response.acknowledged = UInt32(clamping: report.acknowledged)
            response.oldTokenRevokedAtMs = report.oldTokenRevokedAt
            return response.protoBytes()
        case .delegateList:
            let request = try DelegateListRequest(protoBytes: payload)
            var response = DelegateListResponse()
            response.delegates = try self.delegateInfos(
                session: session, tokenID: request.tokenID.isEmpty ? nil : request.tokenID)
            return response.protoBytes()
        case .delegateShow:
            let request = try DelegateRef(protoBytes: payload)
            guard let record = self.registry.record(id: request.delegateID), record.accountID == session.accountID,
                try self.delegateVisibility(session: session)(record.tokenID)
            else {
                throw AdminRefusal(code: .notFound, message: "delegate \(request.delegateID) does not exist")
            }
            return self.delegateInfo(record).protoBytes()
        case .auditList:
            let request = try AuditListRequest(protoBytes: payload)
            // The audit spans every scope of the account, so only an account-scope key may read it.
            guard session.scope == .account else {
                throw AdminRefusal(
                    code: .permissionDenied,
                    message: "admin key \(session.keyID) has scope \(session.scope); the audit covers scope account, "
                        + "so list it with an account-scope key")
            }
            self.flushStore()
            let limit = request.limit == 0 ? 100 : Int(min(request.limit, 10_000))
            var response = AuditListResponse()
            response.entries = try self.stateStore.auditRecords(accountID: session.accountID, limit: limit).map {
                var entry = AuditEntry()
                entry.sequence = $0.sequence
                entry.atMs = $0.at
                entry.accountID = $0.accountID
                entry.actor = $0.actor
                entry.action = $0.action
                entry.target = $0.target
                entry.outcome = $0.outcome
                entry.detail = $0.detail
                return entry
            }
            return response.protoBytes()
        case .profileCreate, .profileList, .profileUpdate, .profileDelete, .delegatePendingList, .delegateApprove,
            .delegateReject, .delegateDelete:
            return try self.performApprovalCall(call, payload: payload, session: session)
        case .taskSubmit, .taskGet, .taskList, .taskCancel, .taskLogs, .taskWait:
            throw AdminRefusal(
                code: .internal, message: "task calls are served by the task service, not the blocking admin path")
        }
    }

    // MARK: - Views

    /// The token if it is in the key's account and its scope is covered by the key's; otherwise a refusal naming
    /// both scopes (issue 4: PERMISSION_DENIED, never a silent success).
    private func ownedToken(id: String, session: AdminSession) throws -> TokenRecord {
        guard let record = try self.storedToken(id: id), record.accountID == session.accountID else {
            throw AdminRefusal(
                code: .notFound, message: "token \(id) does not exist in this account; see `legatectl token list`")
        }
        guard Self.scope(session.scope, covers: record.scope) else {
            throw AdminRefusal(
                code: .permissionDenied,
                message: "admin key \(session.keyID) has scope \(session.scope), which does not cover token \(id) "
                    + "in scope \(record.scope.prefix(200)); use a key whose scope covers it")
        }
        return record
    }

    /// Whether a key at `keyScope` may act on a stored scope text; an unreadable stored scope is covered only by
    /// an account key (fail closed for narrower keys).
    static func scope(_ keyScope: Scope, covers storedScope: String) -> Bool {
        guard let scope = try? Scope(parsing: storedScope) else { return keyScope == .account }
        return keyScope.covers(scope)
    }

    /// Whether the key may see a delegate on a token id: when the token exists, its scope must be covered; a
    /// delegate whose token was deleted is shown to account keys only.
    func delegateVisibility(session: AdminSession) throws(ManagerError) -> (String) -> Bool {
        let scopes = Dictionary(
            try self.tokenSummaries(accountID: session.accountID).map { ($0.id, $0.scope) },
            uniquingKeysWith: { first, _ in first })
        let keyScope = session.scope
        return { tokenID in
            guard let stored = scopes[tokenID] else { return keyScope == .account }
            return Self.scope(keyScope, covers: stored)
        }
    }

    private func tokenInfo(id: String, session: AdminSession) throws -> TokenInfo {
        _ = try self.ownedToken(id: id, session: session)
        guard let summary = try self.tokenSummaries(accountID: session.accountID).first(where: { $0.id == id }) else {
            throw AdminRefusal(code: .notFound, message: "token \(id) does not exist")
        }
        return Self.info(from: summary)
    }

    static func info(from summary: TokenSummary) -> TokenInfo {
        var info = TokenInfo()
        info.id = summary.id
        info.accountID = summary.accountID
        info.name = summary.name
        info.scope = summary.scope
        info.status = summary.status.rawValue
        info.createdAtMs = summary.createdAt
        info.createdBy = summary.createdBy
        info.revokedAtMs = summary.revokedAt ?? 0
        info.expiresAtMs = summary.expiresAt ?? 0
        info.connectedDelegates = UInt32(clamping: summary.connectedDelegates)
        info.lastUsedAtMs = summary.lastUsedAt ?? 0
        return info
    }

    func delegateInfos(session: AdminSession, tokenID: String?) throws(ManagerError) -> [DelegateInfo] {
        let isVisible = try self.delegateVisibility(session: session)
        return self.registry.records(accountID: session.accountID)
            .filter { (tokenID == nil || $0.tokenID == tokenID) && isVisible($0.tokenID) }
            .map(self.delegateInfo)
    }

    func delegateInfo(_ record: DelegateRecord) -> DelegateInfo {
        var info = DelegateInfo()
        info.id = record.id
        info.name = record.name
        info.instanceID = record.instanceID
        info.hostname = record.hostname
        info.ipAddress = record.ipAddress
        info.version = record.version
        info.tokenID = record.tokenID
        info.status = record.status.rawValue
        info.connected = self.registry.isConnected(record.id)
        info.lastHeartbeatAtMs = record.lastHeartbeatAt ?? 0
        info.tags = record.tags
        self.addApprovalFields(to: &info, from: record)
        if let load = self.services.tasks.load(delegateID: record.id) {
            info.capacity = UInt32(clamping: load.capacity)
            info.runningTasks = UInt32(clamping: load.held)
        }
        return info
    }
}
