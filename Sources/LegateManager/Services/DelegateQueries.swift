import LegateCore
import LegateStore
import LegateWire

/// The delegate views of the admin API (list, show, pending list), filtered to what the key may see.
final class DelegateQueries: Sendable {
    private let registry: DelegateRegistry
    private let tokens: TokenService
    private let tasks: TaskService
    /// Where a delegate held by another manager node shows its session.
    private let store: (any StateStore)?
    /// This node: a delegate last seen on another one has its session read from the store.
    private let cluster: NodeCluster?

    /// Creates the views over the registry, the token service (for scopes) and the task service (for load).
    init(
        registry: DelegateRegistry, tokens: TokenService, tasks: TaskService, store: (any StateStore)? = nil,
        cluster: NodeCluster? = nil
    ) {
        self.store = store
        self.cluster = cluster
        self.registry = registry
        self.tokens = tokens
        self.tasks = tasks
    }

    /// The delegates of the session's account it may see, optionally only those on `tokenID`.
    func records(session: AdminSession, tokenID: String? = nil) throws(AdminError) -> [DelegateRecord] {
        let isVisible = try self.tokens.visibility(session: session)
        return self.registry.records(accountID: session.accountID)
            .filter { (tokenID == nil || $0.tokenID == tokenID) && isVisible($0.tokenID) }
    }

    /// One visible delegate, or NOT_FOUND.
    func record(id: String, session: AdminSession) throws(AdminError) -> DelegateRecord {
        let isVisible = try self.tokens.visibility(session: session)
        // A delegate that registered through another manager node a moment ago is in the store before it is here.
        let known = self.registry.record(id: id) ?? (try? self.store?.delegate(id: id)) ?? nil
        guard let record = known, record.accountID == session.accountID,
            isVisible(record.tokenID)
        else {
            throw .notFound("delegate \(id) does not exist; see legatectl delegate list")
        }
        return record
    }

    /// The admin view of one delegate with its session as stored: connected to another manager node, it is
    /// shown connected there.
    func sessionInfo(_ record: DelegateRecord) -> DelegateInfo {
        var info = self.info(record)
        if !info.connected, let stored = try? self.store?.delegate(id: record.id), let node = stored.nodeID {
            info.connected = true
            info.nodeID = node
            info.disconnectedAtMs = 0
            info.lastHeartbeatAtMs = stored.lastHeartbeatAt ?? info.lastHeartbeatAtMs
        }
        return info
    }

    /// Admin views of the visible delegates, optionally only those on `tokenID`.
    func infos(session: AdminSession, tokenID: String? = nil) throws(AdminError) -> [DelegateInfo] {
        let infos = try self.records(session: session, tokenID: tokenID).map(self.info)
        let ownNode = self.cluster?.nodeID
        guard let store = self.store, infos.contains(where: { !$0.connected && !$0.nodeID.isEmpty && $0.nodeID != ownNode })
        else { return infos }
        // Delegates connected to another node: their sessions are in the store, read once for the whole list.
        var sessions: [String: DelegateRecord] = [:]
        for record in (try? store.delegates(accountID: session.accountID)) ?? [] where record.nodeID != nil {
            sessions[record.id] = record
        }
        return infos.map { info in
            guard !info.connected, let stored = sessions[info.id], let node = stored.nodeID else { return info }
            var shown = info
            shown.connected = true
            shown.nodeID = node
            shown.disconnectedAtMs = 0
            shown.lastHeartbeatAtMs = stored.lastHeartbeatAt ?? info.lastHeartbeatAtMs
            return shown
        }
    }

    /// The admin view of a delegate: its record, whether it is connected, its task load.
    func info(_ record: DelegateRecord) -> DelegateInfo {
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
        info.profile = record.profile
        info.firstSeenAtMs = record.firstSeenAt
        info.disconnectedAtMs = info.connected ? 0 : (record.disconnectedAt ?? 0)
        info.pendingExpiresAtMs = record.status == .pending ? (record.pendingExpiresAt ?? 0) : 0
        info.decisionReason = record.decisionReason ?? ""
        info.taskTypes = record.taskTypes
        info.deviceKeyFingerprint = DeviceFingerprint.of(record.devicePublicKey)
        info.nodeID = record.nodeID ?? ""
        if let load = self.tasks.load(delegateID: record.id) {
            info.capacity = UInt32(clamping: load.capacity)
            info.runningTasks = UInt32(clamping: load.held)
        }
        return info
    }
}
