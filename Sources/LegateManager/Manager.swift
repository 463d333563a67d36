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
    /// What the data directory held or was given on this start.
    public let report: BootstrapReport

    let services: ManagerServices
    private let store: SQLiteStateStore
    let masterKey: MasterKey
    private let group: EventLoopGroup
    private let listener: Listener
    private let loopStates: [LoopState]
    private let isRunning = Atomic<Bool>(true)
    /// True while expired tokens are being revoked, so ticks do not start the same revoke twice.
    private let isRevokingExpired = Atomic<Bool>(false)
    /// True while expired pending registrations are being rejected (issue 5).
    private let isExpiringPending = Atomic<Bool>(false)
    /// Serialises profile changes and approval decisions, so two admins cannot decide the same delegate twice.
    let approvalLock = Mutex(())

    /// Prepares the data directory, opens the store and starts serving; returns once the port is bound.
    public static func start(configuration: ManagerConfiguration, log: any LogSink) throws(ManagerError) -> Manager {
        try configuration.validate()
        let prepared = try ManagerBootstrap.prepare(configuration)
        return try Manager(configuration: configuration, prepared: prepared, log: log)
    }

    private init(
        configuration: ManagerConfiguration, prepared: ManagerBootstrap.Prepared, log: any LogSink
    ) throws(ManagerError) {
        self.report = prepared.report
        self.store = prepared.store
        self.masterKey = prepared.masterKey
        let tokens = TokenDirectory()
        let registry = DelegateRegistry()
        let writer = StoreWriter(store: prepared.store, log: log)
        try Self.loadState(store: prepared.store, masterKey: prepared.masterKey, tokens: tokens, registry: registry,
                           writer: writer)
        let tasks = TaskService(configuration: configuration.tasks, store: prepared.store, writer: writer, log: log)
        do {
            try tasks.start()
        } catch {
            throw .store("cannot reload unfinished tasks: \(error)")
        }
        let services = ManagerServices(
            configuration: configuration, tokens: tokens, registry: registry, writer: writer, log: log, tasks: tasks)
        self.services = services
        try Self.loadProfiles(store: prepared.store, into: services.profiles)
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
        self.listener = Listener(
            host: configuration.host, port: configuration.port, tls: tls, group: self.group,
            limits: .defaults, maxConnections: configuration.maxConnections,
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
        do {
            self.port = try self.listener.start()
        } catch {
            throw .network("cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        services.manager.set(self)
        if let first = loopStates.first { self.scheduleExpiryCheck(first) }
        for state in loopStates {
            self.scheduleTick(state)
            self.scheduleHeartbeatFlush(state)
        }
        log.log(.info, "manager listening", ["address": "\(configuration.host):\(self.port)"])
    }

    /// Loads tokens (decrypted into HMAC keys) and delegate records; delegates that were connected when the
    /// manager stopped are recorded as disconnected until they come back.
    private static func loadState(
        store: SQLiteStateStore, masterKey: MasterKey, tokens: TokenDirectory, registry: DelegateRegistry,
        writer: StoreWriter
    ) throws(ManagerError) {
        do {
            for record in try store.allTokens() {
                tokens.upsert(record: record, token: try TokenSealing.open(record, with: masterKey))
            }
            let now = WallClock.unixMilliseconds()
            var records = try store.allDelegates()
            var writes: [StoreWrite] = []
            for index in records.indices where records[index].connectedSince != nil {
                records[index].connectedSince = nil
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
    private static func loadProfiles(store: SQLiteStateStore, into profiles: ProfileDirectory) throws(ManagerError) {
        do {
            let stored = try store.allProfiles()
            var writes: [StoreWrite] = []
            let now = WallClock.unixMilliseconds()
            for account in try store.accounts()
            where !stored.contains(where: { $0.accountID == account.id && $0.name == ProfileRecord.defaultName }) {
                let profile = ProfileRecord(
                    id: ManagerServices.newID(prefix: "prf"), accountID: account.id, name: ProfileRecord.defaultName,
                    createdAt: now, updatedAt: now)
                writes.append(.upsertProfile(profile))
                writes.append(
                    .appendAudit(
                        AuditRecord(
                            at: now, accountID: account.id, actor: "system", action: "profile.create",
                            target: profile.id, outcome: "ok", detail: "name=default requiresApproval=false")))
            }
            if !writes.isEmpty { try store.apply(writes) }
            for profile in try store.allProfiles() { profiles.put(profile) }
        } catch {
            throw .store("\(error)")
        }
    }

    /// Number of delegates registered and connected right now.
    public var connectedDelegates: Int { self.services.registry.connectedCount }

    /// Number of open connections (registered or not).
    public var openConnections: Int { self.listener.connectionCount }

    /// The delegate registry (records and live connections), for admin views and tests.
    public var registry: DelegateRegistry { self.services.registry }

    /// The token directory, for admin views and tests.
    public var tokens: TokenDirectory { self.services.tokens }

    /// The store, for admin views and tests.
    public var stateStore: any StateStore { self.store }

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
        self.flushStore()
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

    /// Tokens past their expiry are revoked (with the full fan-out) off the loops, checked every tick.
    private func scheduleExpiryCheck(_ state: LoopState) {
        _ = state.loop.schedule(after: self.services.configuration.tickInterval) {
            guard self.isRunning.load(ordering: .relaxed) else { return }
            let now = WallClock.unixMilliseconds()
            if !self.services.tokens.expiredTokenIDs(now: now).isEmpty,
                !self.isRevokingExpired.exchange(true, ordering: .acquiringAndReleasing)
            {
                DispatchQueue.global().async {
                    self.revokeExpiredTokens(now: now)
                    self.isRevokingExpired.store(false, ordering: .releasing)
                }
            }
            let expired = self.services.registry.expiredPending(now: now)
            if !expired.isEmpty, !self.isExpiringPending.exchange(true, ordering: .acquiringAndReleasing) {
                DispatchQueue.global().async {
                    self.rejectExpiredPending(expired)
                    self.isExpiringPending.store(false, ordering: .releasing)
                }
            }
            self.scheduleExpiryCheck(state)
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
