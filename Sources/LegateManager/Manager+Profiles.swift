import LegateCore
import LegateNet
import LegateStore
import LegateWire

// MARK: - Profile create, update, delete and views (issue 5)

extension Manager {
    /// Profiles apply to every delegate of the account, so only an account-scope key may change them.
    private func requireAccountScope(_ session: AdminSession, to action: String) throws {
        guard session.scope == .account else {
            throw AdminRefusal(
                code: .permissionDenied,
                message: "admin key \(session.keyID) has scope \(session.scope); profiles apply to the whole "
                    + "account, so \(action) them with an account-scope key")
        }
    }

    /// Creates (`isUpdate` false) or replaces (true, matched by name) a profile after validating it. Blocking.
    func saveProfile(_ spec: ProfileSpec, isUpdate: Bool, session: AdminSession) throws -> ProfileInfo {
        try self.requireAccountScope(session, to: isUpdate ? "update" : "create")
        let now = WallClock.unixMilliseconds()
        let saved: ProfileRecord = try self.approvalLock.withLock { _ in
            let existing = self.services.profiles.profile(accountID: session.accountID, name: spec.name)
            if spec.name.isEmpty {
                throw AdminRefusal(code: .invalidArgument, message: "profile name must not be empty; pass --name")
            }
            if isUpdate, existing == nil {
                throw AdminRefusal(
                    code: .notFound,
                    message: "profile \(spec.name) does not exist; create it with legatectl profile create")
            }
            if !isUpdate, existing != nil {
                throw AdminRefusal(
                    code: .alreadyExists,
                    message: "profile \(spec.name) already exists; change it with legatectl profile update")
            }
            let profile = ProfileRecord(
                id: existing?.id ?? ManagerServices.newID(prefix: "prf"), accountID: session.accountID,
                name: spec.name, requiresApproval: spec.requiresApproval, startupScript: spec.startupScript,
                autoApproval: spec.autoApproval.map {
                    ApprovalRule(
                        sourceCIDRs: $0.sourceCidrs, hostnamePattern: $0.hostnamePattern, tokenID: $0.tokenID)
                },
                createdAt: existing?.createdAt ?? now, updatedAt: now)
            if let problem = profile.problem {
                throw AdminRefusal(code: .invalidArgument, message: problem)
            }
            let detail =
                "name=\(profile.name) requiresApproval=\(profile.requiresApproval) "
                + "script=\(profile.startupScript.utf8.count)B rules=\(profile.autoApproval.count)"
            try self.writeDurably([
                .upsertProfile(profile),
                .appendAudit(
                    AuditRecord(
                        at: now, accountID: session.accountID, actor: session.actor,
                        action: isUpdate ? "profile.update" : "profile.create", target: profile.id, outcome: "ok",
                        detail: detail)),
            ])
            self.services.profiles.put(profile)
            return profile
        }
        return self.profileInfo(saved)
    }

    /// Deletes a profile no delegate uses; `default` cannot be deleted. Blocking.
    func deleteProfile(name: String, session: AdminSession) throws {
        try self.requireAccountScope(session, to: "delete")
        try self.approvalLock.withLock { _ in
            guard let profile = self.services.profiles.profile(accountID: session.accountID, name: name),
                !name.isEmpty
            else {
                throw AdminRefusal(
                    code: .notFound, message: "profile \(name) does not exist; see legatectl profile list")
            }
            guard profile.name != ProfileRecord.defaultName else {
                throw AdminRefusal(
                    code: .failedPrecondition, message: "the default profile cannot be deleted; update it instead")
            }
            let users = self.registry.records(accountID: session.accountID).filter { $0.profile == profile.name }
            guard users.isEmpty else {
                let sample = users.prefix(5).map(\.id).joined(separator: ", ")
                throw AdminRefusal(
                    code: .failedPrecondition,
                    message: "profile \(name) is used by \(users.count) delegate(s) (\(sample)); delete them first "
                        + "with legatectl delegate delete ID")
            }
            try self.writeDurably([
                .deleteProfile(id: profile.id),
                .appendAudit(
                    AuditRecord(
                        at: WallClock.unixMilliseconds(), accountID: session.accountID, actor: session.actor,
                        action: "profile.delete", target: profile.id, outcome: "ok", detail: "name=\(name)")),
            ])
            self.services.profiles.remove(accountID: session.accountID, name: profile.name)
        }
    }

    /// The admin view of a profile, with how many delegates use it.
    func profileInfo(_ profile: ProfileRecord) -> ProfileInfo {
        var info = ProfileInfo()
        info.id = profile.id
        info.name = profile.name
        info.requiresApproval = profile.requiresApproval
        info.startupScript = profile.startupScript
        info.autoApproval = profile.autoApproval.map {
            var rule = LegateWire.AutoApprovalRule()
            rule.sourceCidrs = $0.sourceCIDRs
            rule.hostnamePattern = $0.hostnamePattern
            rule.tokenID = $0.tokenID
            return rule
        }
        info.createdAtMs = profile.createdAt
        info.updatedAtMs = profile.updatedAt
        info.delegates = UInt32(
            clamping: self.registry.records(accountID: profile.accountID).count { $0.profile == profile.name })
        return info
    }
}
