import Dispatch
import LegateAuth
import LegateCore
import LegateNet
import LegateStore

/// The services of a manager, built once and shared by every connection and timer: immutable references to
/// thread-safe objects, nothing pointing back up to the manager.
final class ManagerServices: Sendable {
    let configuration: ManagerConfiguration
    let clock: any ServiceClock
    let store: any StateStore
    let validator: JWTValidator
    /// The JWT key resolver (token id -> HMAC key); `tokenService` manages the tokens behind it.
    let tokens: TokenDirectory
    let registry: DelegateRegistry
    let replay: ReplayCache
    let writer: StoreWriter
    let log: any LogSink
    /// Task dispatch.
    let tasks: TaskService
    /// Delegate profiles of every account, as registrations read them.
    let profiles: ProfileDirectory
    /// Typed audit rows.
    let audit: AuditService
    /// The push fan-out shared by revoke, rotate, delete and approval decisions.
    let fanOut: PushFanOut
    /// Create, list, revoke, delete, rotate tokens; the expiry sweep.
    let tokenService: TokenService
    /// Delegate views for the admin API.
    let delegates: DelegateQueries
    /// Approve, reject, expire and delete delegates.
    let approvals: ApprovalService
    /// Create, update, list and delete profiles.
    let profileService: ProfileService
    /// Create admin keys; authenticate a key into a session.
    let adminKeys: AdminKeyService
    /// Key rings and secrets (public keys and ciphertext only).
    let secrets: SecretService
    /// Admin calls by method.
    let adminRouter: AdminRouter
    /// Admin calls block (store reads, a revoke waiting for acknowledgements), so they run here, off the loops.
    let adminQueue = DispatchQueue(label: "legate.admin", attributes: .concurrent)
    /// Counters and histograms that are not per event loop, for the metrics endpoint.
    let metrics: ManagerMetrics
    /// This manager as a node among those sharing the store.
    let cluster: NodeCluster

    /// Builds every service over `store`; `tasks` is started by the caller.
    init(
        configuration: ManagerConfiguration, store: any StateStore, masterKey: MasterKey, clock: any ServiceClock,
        tokens: TokenDirectory, registry: DelegateRegistry, profiles: ProfileDirectory, writer: StoreWriter,
        log: any LogSink, tasks: TaskService, metrics: ManagerMetrics = ManagerMetrics(), cluster: NodeCluster? = nil
    ) {
        let cluster = cluster ?? NodeCluster.solitary(store: store, clock: clock, log: log)
        self.cluster = cluster
        self.metrics = metrics
        self.configuration = configuration
        self.clock = clock
        self.store = store
        self.tokens = tokens
        self.registry = registry
        self.profiles = profiles
        self.writer = writer
        self.log = log
        self.tasks = tasks
        var policy = JWTPolicy.defaults(audience: configuration.audience)
        policy.leewaySeconds = configuration.jwtLeewaySeconds
        self.validator = JWTValidator(policy: policy, resolver: tokens)
        self.replay = ReplayCache(perTokenCapacity: configuration.replayWindowPerToken)
        let audit = AuditService(
            store: store, writer: writer, clock: clock, retention: configuration.auditRetention)
        self.audit = audit
        let fanOut = PushFanOut(clock: clock)
        self.fanOut = fanOut
        let tokenService = TokenService(
            store: store, writer: writer, directory: tokens, validator: self.validator, replay: self.replay,
            registry: registry, masterKey: masterKey, clock: clock, audit: audit, fanOut: fanOut, log: log,
            cluster: cluster, metrics: metrics)
        self.tokenService = tokenService
        let delegates = DelegateQueries(
            registry: registry, tokens: tokenService, tasks: tasks, store: store, cluster: cluster)
        self.delegates = delegates
        self.approvals = ApprovalService(
            registry: registry, profiles: profiles, delegates: delegates, writer: writer, clock: clock, audit: audit,
            fanOut: fanOut, log: log, pendingExpiry: configuration.pendingExpiry, cluster: cluster)
        self.profileService = ProfileService(
            directory: profiles, registry: registry, writer: writer, clock: clock, audit: audit, cluster: cluster)
        self.adminKeys = AdminKeyService(store: store, writer: writer, clock: clock, audit: audit)
        let router = AdminRouter(queue: self.adminQueue, audit: audit)
        tokenService.registerRoutes(into: router, delegates: delegates)
        self.approvals.registerRoutes(into: router, delegates: delegates)
        self.profileService.registerRoutes(into: router)
        audit.registerRoutes(into: router)
        self.adminKeys.registerRoutes(into: router)
        tasks.registerRoutes(into: router, maxFrameBytes: configuration.connection.maxFrameBytes)
        self.secrets = SecretService(
            registry: registry, tokens: tokens, writer: writer, audit: audit, clock: clock, tasks: tasks,
            cluster: cluster, store: store)
        self.secrets.registerRoutes(into: router)
        tasks.secretLink.connect(self.secrets)
        // Through the weak link: the secrets service holds the registry, so a strong capture would be a cycle.
        let link = tasks.secretLink
        registry.membershipObserver.withLock { $0 = { (link.source as? SecretService)?.reconcileSoon() } }
        self.adminRouter = router
        self.registerNodeRoutes(into: router)
    }

    /// Records an audit row the connection layer words itself, without waiting for it.
    func audit(accountID: String, actor: String, action: String, target: String, outcome: String, detail: String) {
        self.audit.record(
            accountID: accountID, actor: actor, action: action, target: target, outcome: outcome, detail: detail)
    }

    /// Runs the expiry sweeps at `now` (the clock's time): tokens past their expiry (or rotation overlap) are
    /// revoked with the full fan-out, pending registrations past their window are rejected. Blocks: call it off
    /// the event loops.
    func sweepExpiries(now: Int64) {
        self.tokenService.sweepExpired(now: now)
        self.approvals.expirePending(now: now)
    }

    /// Whether a sweep at `now` has anything to do (cheap: in-memory checks only, safe on a loop).
    func hasExpiries(now: Int64) -> Bool {
        !self.tokens.expiredTokenIDs(now: now).isEmpty || !self.registry.expiredPending(now: now).isEmpty
    }

    /// A fresh identifier that sorts by creation time (10 characters of Unix milliseconds, then 16 random ones), so
    /// the store appends to its indexes instead of writing all over them, e.g. `tsk_2b4x...`.
    static func newTimeOrderedID(prefix: String, now: Int64) -> String {
        Self.newTimeOrderedIDs(prefix: prefix, now: now, count: 1)[0]
    }

    /// `count` fresh time-ordered identifiers (as `newTimeOrderedID`) from one draw of the random generator: a
    /// TaskSubmit of a hundred tasks asks it once, not a hundred times.
    static func newTimeOrderedIDs(prefix: String, now: Int64, count: Int) -> [String] {
        let alphabet = Array("23456789abcdefghijkmnpqrstuvwxyz".utf8)  // ASCII order, so the text sorts like the time
        var time = UInt64(max(0, now))
        var characters = [UInt8](repeating: 0, count: prefix.utf8.count + 27)
        characters.replaceSubrange(0..<prefix.utf8.count, with: prefix.utf8)
        characters[prefix.utf8.count] = UInt8(ascii: "_")
        let timeStart = prefix.utf8.count + 1
        for index in (timeStart..<timeStart + 10).reversed() {
            characters[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        let random = SecureRandom.bytes(16 * max(0, count))
        return (0..<max(0, count)).map { id in
            for offset in 0..<16 { characters[timeStart + 10 + offset] = alphabet[Int(random[16 * id + offset] & 31)] }
            return String(decoding: characters, as: UTF8.self)
        }
    }

    /// A fresh random identifier with a readable prefix, e.g. `dlg_3k9x...`.
    static func newID(prefix: String) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
        let bytes = SecureRandom.bytes(16)
        return prefix + "_" + String(decoding: bytes.map { alphabet[Int($0 & 31)] }, as: UTF8.self)
    }
}
