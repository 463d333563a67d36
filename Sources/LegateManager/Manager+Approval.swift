import Dispatch
import LegateCore
import LegateNet
import LegateStore
import LegateWire
import Synchronization

// MARK: - Profiles and approval (issue 5): admin calls 111...118.

/// What one approve or reject did.
struct DecisionReport: Sendable, Equatable {
    /// Delegates whose state changed.
    var decided: [String] = []
    /// Of those, connected ones told over their connection.
    var told = 0
    /// Named but not decided, as "id: why".
    var skipped: [String] = []
}

extension Manager {
    /// How long an admin call waits for a connection's loop to write a decision or SELF_DESTRUCT.
    static let decisionPushTimeout: Duration = .seconds(2)

    /// Serves the profile and approval admin calls (issue 5). Blocking: runs on the admin queue.
    func performApprovalCall(_ call: AdminMethod, payload: [UInt8], session: AdminSession) throws -> [UInt8] {
        switch call {
        case .profileCreate:
            return try self.saveProfile(try ProfileSpec(protoBytes: payload), isUpdate: false, session: session)
                .protoBytes()
        case .profileUpdate:
            return try self.saveProfile(try ProfileSpec(protoBytes: payload), isUpdate: true, session: session)
                .protoBytes()
        case .profileList:
            _ = try ProfileListRequest(protoBytes: payload)
            var response = ProfileListResponse()
            response.profiles = self.services.profiles.profiles(accountID: session.accountID).map {
                self.profileInfo($0)
            }
            return response.protoBytes()
        case .profileDelete:
            let request = try ProfileRef(protoBytes: payload)
            try self.deleteProfile(name: request.name, session: session)
            return request.protoBytes()
        case .delegatePendingList:
            let request = try DelegatePendingListRequest(protoBytes: payload)
            var response = DelegateListResponse()
            response.delegates = try self.delegateInfos(session: session, tokenID: nil).filter {
                $0.status == DelegateStatus.pending.rawValue
                    && (request.profile.isEmpty || $0.profile == request.profile)
            }
            return response.protoBytes()
        case .delegateApprove, .delegateReject:
            let request = try DelegateDecisionRequest(protoBytes: payload)
            let approve = call == .delegateApprove
            let (targets, skipped) = try self.decisionTargets(request, session: session)
            var report = try self.decide(
                targets, approve: approve, reason: request.reason, actor: session.actor)
            report.skipped = skipped + report.skipped
            var response = DelegateDecisionResponse()
            response.decided = report.decided
            response.told = UInt32(clamping: report.told)
            response.skipped = report.skipped
            return response.protoBytes()
        case .delegateDelete:
            let request = try DelegateRef(protoBytes: payload)
            try self.deleteDelegate(id: request.delegateID, session: session)
            return request.protoBytes()
        default:
            throw AdminRefusal(code: .unimplemented, message: "\(call) is not an approval call")
        }
    }

    // MARK: - Approve and reject

    /// The records a decision names: by ids, or every pending one of a profile or of a token (exactly one way).
    private func decisionTargets(_ request: DelegateDecisionRequest, session: AdminSession) throws
        -> (targets: [DelegateRecord], skipped: [String])
    {
        let ways = [!request.delegateIds.isEmpty, !request.profile.isEmpty, !request.tokenID.isEmpty].filter { $0 }
        guard ways.count == 1 else {
            throw AdminRefusal(
                code: .invalidArgument,
                message: "name the delegates one way: by ids, or --profile NAME, or --token ID (got \(ways.count))")
        }
        guard request.reason.utf8.count <= 1024 else {
            throw AdminRefusal(
                code: .invalidArgument, message: "reason of \(request.reason.utf8.count) bytes exceeds 1024")
        }
        let isVisible = try self.delegateVisibility(session: session)
        let records = self.registry.records(accountID: session.accountID).filter { isVisible($0.tokenID) }
        if !request.delegateIds.isEmpty {
            var targets: [DelegateRecord] = []
            var skipped: [String] = []
            for id in request.delegateIds {
                if let record = records.first(where: { $0.id == id }) {
                    targets.append(record)
                } else {
                    skipped.append("\(id): no such delegate in this account")
                }
            }
            return (targets, skipped)
        }
        if !request.profile.isEmpty {
            guard self.services.profiles.profile(accountID: session.accountID, name: request.profile) != nil else {
                throw AdminRefusal(
                    code: .notFound, message: "profile \(request.profile) does not exist; see legatectl profile list")
            }
            return (records.filter { $0.status == .pending && $0.profile == request.profile }, [])
        }
        return (records.filter { $0.status == .pending && $0.tokenID == request.tokenID }, [])
    }

    /// Approves or rejects pending delegates: durable first, then each connected one is told (an approved one
    /// becomes available for tasks at once, a rejected one is disconnected). Blocking.
    func decide(_ targets: [DelegateRecord], approve: Bool, reason: String, actor: String) throws(ManagerError)
        -> DecisionReport
    {
        var report = DecisionReport()
        let now = WallClock.unixMilliseconds()
        let decided: [DelegateRecord] = try self.approvalLock.withLock { _ throws(ManagerError) in
            var updated: [DelegateRecord] = []
            var writes: [StoreWrite] = []
            for target in targets {
                guard let current = self.registry.record(id: target.id), current.status == .pending else {
                    let state = self.registry.record(id: target.id)?.status.rawValue ?? "deleted"
                    report.skipped.append("\(target.id): is \(state), not pending")
                    continue
                }
                var record = current
                if approve {
                    record.status = self.registry.isConnected(record.id) ? .active : .disconnected
                } else {
                    record.status = .rejected
                }
                record.pendingExpiresAt = nil
                record.decisionReason = reason.isEmpty ? nil : reason
                updated.append(record)
                writes.append(.upsertDelegate(record))
                writes.append(
                    .appendAudit(
                        AuditRecord(
                            at: now, accountID: record.accountID, actor: actor,
                            action: approve ? "delegate.approve" : "delegate.reject", target: record.id, outcome: "ok",
                            detail: "profile=\(record.profile) host=\(record.hostname) token=\(record.tokenID) "
                                + "reason=\(reason.isEmpty ? "-" : reason)")))
            }
            guard !writes.isEmpty else { return [] }
            try self.writeDurably(writes)
            for record in updated { self.registry.update(record) }
            return updated
        }
        report.decided = decided.map(\.id)
        let told = Atomic<Int>(0)
        let group = DispatchGroup()
        for record in decided {
            guard let connection = self.registry.connection(delegateID: record.id) else { continue }
            var decision = ApprovalDecision()
            decision.approved = approve
            decision.reason = reason
            if approve {
                decision.startupScript =
                    self.services.profiles.profile(accountID: record.accountID, name: record.profile)?.startupScript
                    ?? ""
            }
            group.enter()
            connection.pushApprovalDecision(decision, record: record) { event in
                if event == .sent { told.add(1, ordering: .relaxed) }
                group.leave()
            }
        }
        _ = group.wait(timeout: .now() + Self.decisionPushTimeout.dispatchInterval)
        report.told = told.load(ordering: .relaxed)
        return report
    }

    /// Off the loops: rejects pending registrations whose time ran out, telling connected ones.
    func rejectExpiredPending(_ records: [DelegateRecord]) {
        let hours = self.services.configuration.pendingExpiry.int64Milliseconds / 3_600_000
        let window = hours > 0 ? "\(hours) h" : "\(self.services.configuration.pendingExpiry)"
        do {
            let report = try self.decide(
                records, approve: false, reason: "approval not given within \(window)", actor: "system")
            if !report.decided.isEmpty {
                self.services.log.log(.info, "pending registrations expired", ["count": "\(report.decided.count)"])
            }
        } catch {
            self.services.log.log(.error, "pending expiry not recorded", ["error": "\(error)"])
        }
    }

    // MARK: - Delete

    /// Deletes a delegate in any state; a connected one is told SELF_DESTRUCT first. Blocking.
    private func deleteDelegate(id: String, session: AdminSession) throws {
        let isVisible = try self.delegateVisibility(session: session)
        guard let record = self.registry.record(id: id), record.accountID == session.accountID,
            isVisible(record.tokenID)
        else {
            throw AdminRefusal(code: .notFound, message: "delegate \(id) does not exist; see legatectl delegate list")
        }
        var outcome = "not connected"
        if let connection = self.registry.connection(delegateID: id) {
            let done = DispatchSemaphore(value: 0)
            let result = Mutex<PushEvent>(.notSent)
            connection.eventLoop.execute {
                connection.pushSelfDestructOnLoop(
                    reason: "delegate \(id) was deleted by an administrator", tokenID: record.tokenID
                ) { event in
                    result.withLock { $0 = event }
                    if event != .sent { done.signal() }
                }
            }
            _ = done.wait(timeout: .now() + Self.decisionPushTimeout.dispatchInterval)
            outcome = "SELF_DESTRUCT \(result.withLock { $0 })"
            connection.eventLoop.execute { connection.closeIfSelfDestructUnacknowledged() }
        }
        // Forget it before the store does, so the closing connection does not write the record back.
        self.registry.remove(delegateID: id)
        do {
            try self.writeDurably([
                .deleteDelegate(id: id),
                .appendAudit(
                    AuditRecord(
                        at: WallClock.unixMilliseconds(), accountID: record.accountID, actor: session.actor,
                        action: "delegate.delete", target: id, outcome: "ok",
                        detail: "status=\(record.status.rawValue) host=\(record.hostname) \(outcome)")),
            ])
        } catch {
            self.registry.load([record])
            throw error
        }
    }

    // MARK: - Views

    /// Adds the issue-5 fields to a delegate view.
    func addApprovalFields(to info: inout DelegateInfo, from record: DelegateRecord) {
        info.profile = record.profile
        info.firstSeenAtMs = record.firstSeenAt
        info.disconnectedAtMs = info.connected ? 0 : (record.disconnectedAt ?? 0)
        info.pendingExpiresAtMs = record.status == .pending ? (record.pendingExpiresAt ?? 0) : 0
        info.decisionReason = record.decisionReason ?? ""
        info.taskTypes = record.taskTypes
    }
}
