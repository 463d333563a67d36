import LegateCore
import LegateNet
import LegateStore
import LegateWire

/// Delegate profiles: create, update, list and delete, durable first, then in the directory registrations read.
/// Blocking: call it off the event loops.
final class ProfileService: Sendable {
    private let directory: ProfileDirectory
    private let registry: DelegateRegistry
    private let writer: StoreWriter
    private let clock: any ServiceClock
    private let audit: AuditService
    /// This node among the managers sharing the store: profile changes are announced to the others.
    private let cluster: NodeCluster?
    /// Profile names (per account) a save or delete is writing now.
    private let inFlight = Reservations()

    /// Creates the service over the directory, the registry (who uses a profile) and the writer.
    init(
        directory: ProfileDirectory, registry: DelegateRegistry, writer: StoreWriter, clock: any ServiceClock,
        audit: AuditService, cluster: NodeCluster? = nil
    ) {
        self.cluster = cluster
        self.directory = directory
        self.registry = registry
        self.writer = writer
        self.clock = clock
        self.audit = audit
    }

    /// What an admin asks a profile to be.
    struct Spec: Sendable, Equatable {
        /// Unique name in the account.
        var name: String
        /// Whether new delegates wait for a decision.
        var requiresApproval = false
        /// Script a delegate runs once approved.
        var startupScript = ""
        /// Rules that admit matching delegates without a human.
        var autoApproval: [ApprovalRule] = []
    }

    /// Creates (`isUpdate` false) or replaces (true, matched by name) a profile after validating it. Blocking.
    func save(_ spec: Spec, isUpdate: Bool, session: AdminSession) throws(AdminError) -> ProfileRecord {
        try Self.requireAccountScope(session, to: isUpdate ? "update" : "create")
        guard !spec.name.isEmpty else { throw .invalidArgument("profile name must not be empty; pass --name") }
        return try self.inFlight.with(
            session.accountID + "\u{0}" + spec.name,
            busy: AdminError.failedPrecondition("profile \(spec.name) is being changed by another call; retry")
        ) { () throws(AdminError) -> ProfileRecord in
            let existing = self.directory.profile(accountID: session.accountID, name: spec.name)
            if isUpdate, existing == nil {
                throw .notFound("profile \(spec.name) does not exist; create it with legatectl profile create")
            }
            if !isUpdate, existing != nil {
                throw .alreadyExists("profile \(spec.name) already exists; change it with legatectl profile update")
            }
            let now = self.clock.unixMilliseconds()
            let profile = ProfileRecord(
                id: existing?.id ?? ManagerServices.newID(prefix: "prf"), accountID: session.accountID,
                name: spec.name, requiresApproval: spec.requiresApproval, startupScript: spec.startupScript,
                autoApproval: spec.autoApproval, createdAt: existing?.createdAt ?? now, updatedAt: now)
            if let problem = profile.problem { throw .invalidArgument(problem) }
            try self.writeDurably([
                .upsertProfile(profile),
                .appendAudit(
                    self.audit.row(
                        .profileSaved(profile, isUpdate: isUpdate), accountID: session.accountID,
                        actor: session.actor, at: now)),
            ])
            self.directory.put(profile)
            return profile
        }
    }

    /// The account's profiles, by name.
    func list(session: AdminSession) -> [ProfileRecord] {
        self.directory.profiles(accountID: session.accountID)
    }

    /// Deletes a profile no delegate uses; `default` cannot be deleted. Blocking.
    func delete(name: String, session: AdminSession) throws(AdminError) {
        try Self.requireAccountScope(session, to: "delete")
        guard !name.isEmpty, let profile = self.directory.profile(accountID: session.accountID, name: name) else {
            throw .notFound("profile \(name) does not exist; see legatectl profile list")
        }
        guard profile.name != ProfileRecord.defaultName else {
            throw .failedPrecondition("the default profile cannot be deleted; update it instead")
        }
        try self.inFlight.with(
            session.accountID + "\u{0}" + name,
            busy: AdminError.failedPrecondition("profile \(name) is being changed by another call; retry")
        ) { () throws(AdminError) in
            let users = self.registry.records(accountID: session.accountID).filter { $0.profile == profile.name }
            guard users.isEmpty else {
                let sample = users.prefix(5).map(\.id).joined(separator: ", ")
                throw .failedPrecondition(
                    "profile \(name) is used by \(users.count) delegate(s) (\(sample)); delete them first "
                        + "with legatectl delegate delete ID")
            }
            try self.writeDurably([
                .deleteProfile(id: profile.id),
                .appendAudit(
                    self.audit.row(
                        .profileDeleted(profile), accountID: session.accountID,
                        actor: session.actor)),
            ])
            self.directory.remove(accountID: session.accountID, name: profile.name)
        }
    }

    /// How many delegates of the profile's account use it.
    func users(of profile: ProfileRecord) -> Int {
        self.registry.records(accountID: profile.accountID).count { $0.profile == profile.name }
    }

    /// Profiles apply to every delegate of the account, so only an account-scope key may change them.
    private static func requireAccountScope(_ session: AdminSession, to action: String) throws(AdminError) {
        guard session.scope == .account else {
            throw .permissionDenied(
                "admin key \(session.keyID) has scope \(session.scope); profiles apply to the whole "
                    + "account, so \(action) them with an account-scope key")
        }
    }

    /// Writes durably with one control per other manager node, and waits (bounded) until they reloaded the
    /// account's profiles, so a delegate registering anywhere next sees the change.
    private func writeDurably(_ writes: [StoreWrite]) throws(AdminError) {
        let accountID = writes.lazy.compactMap { write -> String? in
            if case .appendAudit(let row) = write { return row.accountID }
            return nil
        }.first
        var controls: [NodeControl] = []
        do throws(StoreError) {
            if let cluster = self.cluster, let accountID {
                controls = cluster.controls(.profileChanged, subject: accountID, peers: try cluster.livePeers())
            }
            try self.writer.writeDurably(writes + controls.map { .insertNodeControl($0) })
        } catch {
            throw error.adminError
        }
        self.cluster?.notify(controls)
        _ = self.cluster?.outcomes(of: controls)
    }
}

// MARK: - Profile admin calls (111...114)

extension ProfileService {
    /// Registers the profile calls.
    func registerRoutes(into router: AdminRouter) {
        for (method, isUpdate) in [(AdminMethod.profileCreate, false), (.profileUpdate, true)] {
            router.register(method, permissions: [.delegateEdit]) { payload, session throws(AdminError) in
                let spec = try AdminRouter.decode(ProfileSpec.self, payload)
                let rules = spec.autoApproval.map {
                    ApprovalRule(sourceCIDRs: $0.sourceCidrs, hostnamePattern: $0.hostnamePattern, tokenID: $0.tokenID)
                }
                let saved = try self.save(
                    Spec(
                        name: spec.name, requiresApproval: spec.requiresApproval, startupScript: spec.startupScript,
                        autoApproval: rules),
                    isUpdate: isUpdate, session: session)
                return self.info(saved).protoBytes()
            }
        }
        router.register(.profileList, permissions: [.delegateView]) { payload, session throws(AdminError) in
            _ = try AdminRouter.decode(ProfileListRequest.self, payload)
            var response = ProfileListResponse()
            response.profiles = self.list(session: session).map(self.info)
            return response.protoBytes()
        }
        router.register(.profileDelete, permissions: [.delegateDelete]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(ProfileRef.self, payload)
            try self.delete(name: request.name, session: session)
            return request.protoBytes()
        }
    }

    /// The admin view of a profile, with how many delegates use it.
    func info(_ profile: ProfileRecord) -> ProfileInfo {
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
        info.delegates = UInt32(clamping: self.users(of: profile))
        return info
    }
}
