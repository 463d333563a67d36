import Dispatch
import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import Synchronization

/// A running Legate manager: listener, event loops, token directory, delegate registry and store.
public final class Manager: Sendable {
    /// The port actually bound (useful with port 0).
    public let port: Int
    /// The HTTP endpoint's bound port, when one is configured.
    public let httpPort: Int?
    /// What the data directory held or was given on this start.
    public let report: BootstrapReport

    let services: ManagerServices
    private let group: EventLoopGroup
    private let listener: Listener
    private let loopStates: [LoopState]
    private let isRunning = Atomic<Bool>(true)
    /// True while an expiry sweep is queued or running, so ticks do not queue the same work twice.
    private let isSweeping = Atomic<Bool>(false)
    /// Expiry sweeps run here, one at a time, off the loops (they block on durable writes and fan-outs).
    private let sweepQueue = DispatchQueue(label: "legate.sweeps")
    private let http: HTTPEndpoint?
    private let readiness: Readiness
    /// Lease renewals and control-queue polls of this node (started once the listener is up).
    private let nodeTimers: NodeTimers

    /// Prepares the data directory, opens the store and starts serving; returns once the port is bound.
    /// `clock` is the time every service reads (`SystemClock` in production); `store`, when given, replaces the
    /// SQLite file in the data directory.
    public static func start(
        configuration: ManagerConfiguration, log: any LogSink, clock: any ServiceClock = SystemClock(),
        store: (any StateStore)? = nil
    ) throws(ManagerError) -> Manager {
        try configuration.validate()
        let prepared = try ManagerBootstrap.prepare(configuration, store: store, clock: clock)
        return try Manager(configuration: configuration, prepared: prepared, log: log, clock: clock)
    }

    private init(
        configuration: ManagerConfiguration, prepared: ManagerBootstrap.Prepared, log: any LogSink,
        clock: any ServiceClock
    ) throws(ManagerError) {
        self.report = prepared.report
        let store = prepared.store
        let tokens = TokenDirectory()
        let registry = DelegateRegistry()
        let profiles = ProfileDirectory()
        let metrics = ManagerMetrics()
        let writer = StoreWriter(store: store, log: log, clock: clock, metrics: metrics)
        var nodeID = configuration.nodes.nodeID ?? ""
        if nodeID.isEmpty { nodeID = try NodeCluster.loadOrCreateID(in: configuration.dataDirectory) }
        // Before the task reload: it must only take up this node's tasks.
        store.adoptNode(nodeID)
        let cluster = NodeCluster(
            nodeID: nodeID,
            address: configuration.nodes.advertisedAddress ?? "\(configuration.host):\(configuration.port)",
            configuration: configuration.nodes, store: store, clock: clock, log: log)
        try Self.loadState(
            store: store, masterKey: prepared.masterKey, tokens: tokens, registry: registry,
            now: clock.unixMilliseconds(), cluster: cluster)
        try Self.loadProfiles(store: store, into: profiles, now: clock.unixMilliseconds())
        let tasks = TaskService(
            configuration: configuration.tasks, store: store, writer: writer, log: log, clock: clock)
        tasks.metrics = metrics
        do {
            try tasks.start()
        } catch {
            throw .store("cannot reload unfinished tasks: \(error)")
        }
        let services = ManagerServices(
            configuration: configuration, store: store, masterKey: prepared.masterKey, clock: clock, tokens: tokens,
            registry: registry, profiles: profiles, writer: writer, log: log, tasks: tasks, metrics: metrics,
            cluster: cluster)
        self.services = services
        do {
            try services.secrets.directory.load(from: store)
        } catch {
            throw .store("cannot load key rings and secrets: \(error)")
        }
        self.nodeTimers = NodeTimers(services: services)
        cluster.onTakeOver.withLock { $0 = { [tasks] in tasks.adoptUnfinishedTasks() } }
        cluster.onLeaseLost.withLock { $0 = { [services] in services.rewriteSessions() } }
        let ticketKeys = try SessionTicketKeys.loadOrCreate(in: configuration.dataDirectory)
        let tls: TLSServerContext
        do {
            tls = try TLSServerContext(
                TLSServerConfiguration(
                    certificateChainFile: prepared.tlsFiles.certificate, privateKeyFile: prepared.tlsFiles.key,
                    clientCAFile: configuration.clientCAFile,
                    requireClientCertificate: configuration.clientCAFile != nil,
                    sessionTicketKeys: ticketKeys))
        } catch {
            throw .tls(error.description)
        }
        let loopCount = configuration.eventLoops > 0 ? configuration.eventLoops : System.coreCount
        self.group = EventLoopGroup(loopCount: loopCount)
        let loopStates = self.group.loops.map { LoopState(loop: $0) }
        self.loopStates = loopStates
        let rateLimiter = Mutex(AddressRateLimiter(configuration: configuration.connectionRate))
        let readiness = Readiness(services: services)
        self.readiness = readiness
        let listener = Listener(
            host: configuration.host, port: configuration.port, tls: tls, group: self.group,
            limits: .defaults, maxConnections: configuration.maxConnections,
            refusalHandler: { _ in
                RefusedConnection(
                    code: .unavailable,
                    message: "the manager is at its connection limit; retry with backoff or connect to another manager")
            },
            onEvent: { event in Self.log(event, to: log) },
            makeHandler: { connection in
                let address = ManagerConnection.host(of: connection.peerAddress)
                guard rateLimiter.withLock({ $0.admit(address, now: connection.loop.now) }) else {
                    log.log(.warning, "connection refused: rate limit", ["peer": connection.peerAddress])
                    return RefusedConnection(
                        code: .unavailable,
                        message: "too many new connections from \(address); retry with backoff")
                }
                let state = loopStates.first { $0.loop === connection.loop } ?? loopStates[0]
                return ManagerConnection(services: services, loopState: state, connection: connection)
            })
        self.listener = listener
        // The HTTP endpoint comes up first, so /livez answers and /readyz says why not ready during startup.
        (self.http, self.httpPort) = try Self.startHTTP(
            configuration: configuration, services: services, files: prepared.tlsFiles, readiness: readiness,
            exposition: MetricsExposition(
                services: services, loopMetrics: loopStates.map(\.metrics),
                openConnections: { listener.connectionCount }))
        do {
            self.port = try self.listener.start()
        } catch {
            self.http?.stop()
            throw .network("cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        if configuration.nodes.advertisedAddress == nil {
            cluster.advertise("\(configuration.host):\(self.port)")
        }
        self.nodeTimers.start()
        readiness.markListening()
        if let first = loopStates.first {
            self.scheduleExpiryCheck(first)
            self.scheduleAuditPruning(first, after: configuration.tickInterval)
        }
        for state in loopStates {
            self.scheduleTick(state)
            self.scheduleHeartbeatFlush(state)
        }
        log.log(.info, "manager listening", ["address": "\(configuration.host):\(self.port)"])
        if let httpPort = self.httpPort, let http = configuration.http {
            log.log(
                .info, "HTTP endpoint listening",
                ["address": "\(http.host):\(httpPort)", "scheme": http.plain ? "http" : "https"])
        }
    }

    /// Starts the HTTP endpoint when configured: HTTPS with the manager's certificate (ALPN http/1.1), or plain.
    private static func startHTTP(
        configuration: ManagerConfiguration, services: ManagerServices,
        files: (certificate: String, key: String, ca: String?), readiness: Readiness, exposition: MetricsExposition
    ) throws(ManagerError) -> (HTTPEndpoint?, Int?) {
        guard let http = configuration.http else { return (nil, nil) }
        var tls: TLSServerContext?
        if !http.plain {
            do {
                tls = try TLSServerContext(
                    TLSServerConfiguration(
                        certificateChainFile: files.certificate, privateKeyFile: files.key,
                        alpnProtocols: ["http/1.1"]))
            } catch {
                throw .tls("HTTP endpoint: \(error.description)")
            }
        }
        let endpoint = HTTPEndpoint(
            configuration: http, router: services.httpRouter(exposition: exposition, readiness: readiness))
        return (endpoint, try endpoint.start(tls: tls))
    }

    /// Logs what the listener reports: once per burst, not per refused connection.
    private static func log(_ event: ListenerEvent, to log: any LogSink) {
        switch event {
        case .descriptorsExhausted(let errno, let limit):
            log.log(
                .error, "out of file descriptors: new connections are closed unserved until some free up",
                ["errno": "\(errno)", "open_file_limit": "\(limit)", "fix": "raise `ulimit -n` or lower --max-connections"])
        case .descriptorsRecovered(let closed):
            log.log(.info, "file descriptors available again", ["closed_unserved": "\(closed)"])
        case .connectionCapReached(let cap, let limit):
            log.log(
                .warning, "connection limit reached: new connections are refused with UNAVAILABLE",
                ["max_connections": "\(cap)", "open_file_limit": "\(limit)"])
        case .memoryReturned(let before, let after):
            log.log(
                .info, "memory returned after a connection storm",
                ["rss_before_bytes": "\(before)", "rss_after_bytes": "\(after)"])
        }
    }

    /// Registers this node, then loads tokens (decrypted into HMAC keys) and delegate records; delegates this
    /// node (or a node no longer alive) held when it stopped are recorded as disconnected (at `now`) until they
    /// come back. Those another live node holds keep their session.
    private static func loadState(
        store: any StateStore, masterKey: MasterKey, tokens: TokenDirectory, registry: DelegateRegistry, now: Int64,
        cluster: NodeCluster
    ) throws(ManagerError) {
        do {
            try cluster.renew()
            let peers = Set(try cluster.livePeers())
            for record in try store.allTokens() {
                tokens.upsert(record: record, token: try TokenSealing.open(record, with: masterKey))
            }
            var records = try store.allDelegates()
            var writes: [StoreWrite] = []
            for index in records.indices
            where records[index].connectedSince != nil && !peers.contains(records[index].nodeID ?? "") {
                records[index].connectedSince = nil
                records[index].nodeID = nil
                records[index].disconnectedAt = now
                if records[index].status == .active {
                    records[index].status = .disconnected  // pending ones stay pending until decided
                }
                writes.append(.upsertDelegate(records[index]))
            }
            if !writes.isEmpty { try store.apply(writes) }
            registry.load(records)
        } catch let error as ManagerError {
            throw error
        } catch {
            throw .store("\(error)")
        }
    }

    /// Loads every profile; an account without a `default` profile gets one (at first start and after an
    /// upgrade from a store without profiles).
    private static func loadProfiles(store: any StateStore, into profiles: ProfileDirectory, now: Int64)
        throws(ManagerError)
    {
        do {
            let stored = try store.allProfiles()
            var writes: [StoreWrite] = []
            for account in try store.accounts()
            where !stored.contains(where: { $0.accountID == account.id && $0.name == ProfileRecord.defaultName }) {
                let profile = ProfileRecord(
                    id: ManagerServices.newID(prefix: "prf"), accountID: account.id, name: ProfileRecord.defaultName,
                    createdAt: now, updatedAt: now)
                writes.append(.upsertProfile(profile))
                writes.append(
                    .appendAudit(AuditEvent.defaultProfileCreated(profile).record(
                        accountID: account.id, actor: "system", at: now)))
            }
            if !writes.isEmpty { try store.apply(writes) }
            for profile in try store.allProfiles() { profiles.put(profile) }
        } catch {
            throw .store("\(error)")
        }
    }

    /// This manager's id among the managers sharing its store.
    public var nodeID: String { self.services.cluster.nodeID }

    /// Number of delegates registered and connected right now.
    public var connectedDelegates: Int { self.services.registry.connectedCount }

    /// Number of open connections (registered or not).
    public var openConnections: Int { self.listener.connectionCount }

    /// The delegate registry (records and live connections), for admin views and tests.
    public var registry: DelegateRegistry { self.services.registry }

    /// The token directory, for admin views and tests.
    public var tokens: TokenDirectory { self.services.tokens }

    /// The store, for admin views and tests.
    public var stateStore: any StateStore { self.services.store }

    /// Runs the expiry sweeps now, at the clock's time, and returns once they ran: expired tokens and rotation
    /// overlaps are revoked, expired pending registrations rejected, task leases and cancel graces enforced.
    /// Blocks: never call it on an event loop. The manager runs it every tick on its own.
    public func sweep() {
        self.sweepQueue.sync { self.services.sweepExpiries(now: self.services.clock.unixMilliseconds()) }
        self.services.tasks.sweep()
    }

    /// Waits until every store write queued so far is durable. Blocks: never call it on an event loop.
    public func flushStore() {
        for state in self.loopStates {
            state.loop.queue.sync { self.flushHeartbeats(state) }
        }
        self.services.tasks.flush()
        self.services.writer.flush()
    }

    /// Graceful shutdown: stop accepting, GOAWAY every connection, let in-flight calls finish, write
    /// everything down. Blocks up to the drain timeout plus one second.
    public func shutdown(reason: String = "manager shutting down", reconnectAfter: Duration = .seconds(1)) {
        guard self.isRunning.exchange(false, ordering: .acquiringAndReleasing) else { return }
        self.readiness.markDraining()
        self.nodeTimers.stop()
        self.listener.stop()
        for state in self.loopStates {
            state.loop.execute { state.startDraining(reason: reason, reconnectAfter: reconnectAfter) }
        }
        let deadline = ContinuousClock.now + self.services.configuration.drainTimeout + .seconds(1)
        let finished = DispatchSemaphore(value: 0)
        for state in self.loopStates {
            let loopDeadline = deadline
            self.waitUntilEmpty(state, deadline: loopDeadline, done: finished)
        }
        for _ in self.loopStates { finished.wait() }
        self.services.tasks.stop()
        self.services.audit.closeAllFailureWindows()
        self.flushStore()
        self.http?.stop()
    }

    private func waitUntilEmpty(_ state: LoopState, deadline: ContinuousClock.Instant, done: DispatchSemaphore) {
        state.loop.execute {
            if state.connectionCount == 0 || state.loop.now >= deadline {
                state.tick(now: state.loop.now + .seconds(3600))  // force-close stragglers
                done.signal()
                return
            }
            _ = state.loop.schedule(after: .milliseconds(20)) {
                self.waitUntilEmpty(state, deadline: deadline, done: done)
            }
        }
    }

    private func scheduleTick(_ state: LoopState) {
        _ = state.loop.schedule(after: self.services.configuration.tickInterval) {
            guard self.isRunning.load(ordering: .relaxed) else { return }
            state.tick(now: state.loop.now)
            self.scheduleTick(state)
        }
    }

    /// Expired tokens and pending registrations are handled off the loops, checked every tick at the clock's time.
    private func scheduleExpiryCheck(_ state: LoopState) {
        _ = state.loop.schedule(after: self.services.configuration.tickInterval) {
            guard self.isRunning.load(ordering: .relaxed) else { return }
            self.services.audit.closeFailureWindows()
            self.services.secrets.safetyPassIfDue()  // membership events check the rings; this catches the rest
            let now = self.services.clock.unixMilliseconds()
            if self.services.hasExpiries(now: now), !self.isSweeping.exchange(true, ordering: .acquiringAndReleasing) {
                self.sweepQueue.async {
                    self.services.sweepExpiries(now: self.services.clock.unixMilliseconds())
                    self.isSweeping.store(false, ordering: .releasing)
                }
            }
            self.scheduleExpiryCheck(state)
        }
    }

    /// Audit rows past the retention are deleted on the sweep queue (blocking, in bounded batches): soon after
    /// start, then every `auditPruneInterval`.
    private func scheduleAuditPruning(_ state: LoopState, after delay: Duration) {
        _ = state.loop.schedule(after: delay) {
            guard self.isRunning.load(ordering: .relaxed) else { return }
            self.sweepQueue.async {
                do throws(StoreError) {
                    let deleted = try self.services.audit.applyRetention()
                    if deleted > 0 {
                        self.services.log.log(.info, "old audit rows deleted", ["count": "\(deleted)"])
                    }
                } catch {
                    self.services.log.log(.warning, "audit retention could not run; will retry", ["error": "\(error)"])
                }
            }
            self.scheduleAuditPruning(state, after: self.services.configuration.auditPruneInterval)
        }
    }

    private func scheduleHeartbeatFlush(_ state: LoopState) {
        _ = state.loop.schedule(after: self.services.configuration.heartbeatFlushInterval) {
            guard self.isRunning.load(ordering: .relaxed) else { return }
            self.flushHeartbeats(state)
            self.scheduleHeartbeatFlush(state)
        }
    }

    /// On `state.loop`: moves changed heartbeat times to the registry and the store, in one write.
    private func flushHeartbeats(_ state: LoopState) {
        let marks = self.services.registry.recordHeartbeats(state.collectHeartbeats())
        if !marks.isEmpty {
            self.services.writer.submit([.recordHeartbeats(marks)])
        }
    }
}
