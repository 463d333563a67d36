import LegateAuth
import LegateCore
import LegateNet
import LegateWire
import Synchronization

/// A delegate's connection to its manager: connects over TLS, says HELLO, registers with a fresh JWT,
/// heartbeats on the announced interval, reconnects with jittered backoff, obeys GOAWAY and SELF_DESTRUCT, and runs
/// the tasks the manager assigns with its registered handlers (DelegateClient+Tasks.swift, Tasks/).
///
/// `@unchecked Sendable`: all mutable state is touched only on `loop.queue`; LegateNet calls the handler
/// methods there, and `start()`/`stop()` hop there first.
public final class DelegateClient: ConnectionHandler, @unchecked Sendable {
    /// The loop that owns this client.
    public let loop: EventLoop
    let configuration: DelegateConfiguration
    private let tls: TLSClientContext
    let onEvent: @Sendable (DelegateEvent) -> Void
    /// Told how the profile's startup script ended and when the manager recorded it (on the loop).
    let onStartupScript: (@Sendable (StartupScriptEvent) -> Void)?
    var connection: Connection?
    var machine = DelegateSessionMachine()
    /// Runs the task handlers (Tasks/): capacity from the configuration, timers on this loop.
    let tasks: TaskRunner
    /// Ring private keys opened from their sealed copies, in memory only, by ring id and version.
    let ringKeys = RingKeyCache()
    /// Receives `DelegateTaskEvent`s; set with `onTaskEvent(_:)`.
    let taskEventHandler = Mutex<(@Sendable (DelegateTaskEvent) -> Void)?>(nil)
    /// Receives `TokenRotationEvent`s; set with `onTokenRotation(_:)`.
    let tokenRotationHandler = Mutex<(@Sendable (TokenRotationEvent) -> Void)?>(nil)
    /// TaskUpdate/TaskResult calls awaiting their answer, by stream id (used only on the loop).
    var pendingTaskCalls: [UInt32: PendingTaskCall] = [:]
    /// PUSH_ACKs of TASK_ASSIGN held back briefly to travel with a quick result (by "taskID/attempt", on the loop).
    var heldAssignmentAcks: [String: Frame] = [:]
    var isAckFlushScheduled = false
    private var decoder = FrameDecoder(maxFrameBytes: FrameLimits.defaultMaxFrameBytes)
    private var backoff: ReconnectBackoff
    private var jitter = SystemJitter()
    private var attempts = 0
    var isStopped = false
    /// Set once `leave` was called: no new task starts, and the client stops when the leave is done.
    var leaving: LeaveState?
    private var reconnectPlanned = false
    /// Index into `configuration.managers` of the manager tried next; each reconnect moves to the next one.
    private var managerIndex = 0
    private var heartbeatInterval: Duration = .seconds(10)
    var heartbeatTimer: ScheduledTimer?
    /// The startup script runs once per process: set when it starts.
    var startupScriptStarted = false
    /// A finished script's report not yet sent (the connection was down); sent after the next registration.
    var unsentStartupReport: StartupScriptReport?
    private var jwt: (value: String, renewAt: Int64)?
    /// The token in use: the configured one until the manager pushes TOKEN_ROTATED.
    private let token: Mutex<DelegateToken>
    private var scratch: [UInt8] = []
    /// The id the manager gave this delegate, once registered.
    public private(set) var delegateID: String?

    /// Creates a client; nothing happens until `start()`. It runs the built-in task handlers named in
    /// `configuration.builtInTaskTypes` (default: `echo` only); add more with `register(_:)` before `start()`.
    public init(
        configuration: DelegateConfiguration, tls: TLSClientContext, loop: EventLoop,
        onStartupScript: (@Sendable (StartupScriptEvent) -> Void)? = nil,
        onEvent: @escaping @Sendable (DelegateEvent) -> Void
    ) {
        self.onStartupScript = onStartupScript
        self.configuration = configuration
        self.tls = tls
        self.loop = loop
        self.onEvent = onEvent
        self.backoff = configuration.backoff
        self.token = Mutex(configuration.token)
        let builtIns = configuration.builtInTaskTypes.compactMap(TaskHandlerRegistry.builtIn(named:))
        let handlers = TaskHandlerRegistry(builtIns)
        var limits = TaskLogLimits.defaults
        limits.startReportDelay = configuration.taskStartReportDelay
        self.tasks = TaskRunner(
            handlers: handlers, capacity: Int(configuration.capacity), timers: LoopTaskTimers.shared(on: loop),
            logLimits: limits)
    }

    /// Sets the receiver of token rotation events (any thread; call before `start()`).
    public func onTokenRotation(_ handler: @escaping @Sendable (TokenRotationEvent) -> Void) {
        self.tokenRotationHandler.withLock { $0 = handler }
    }

    /// The id of the token this client authenticates with now (changes when the manager rotates it).
    public var currentTokenID: String { self.token.withLock { $0.id } }

    /// Creates the TLS context a delegate with `configuration` needs (share one among many clients).
    public static func makeTLSContext(_ configuration: DelegateConfiguration) throws(TLSError) -> TLSClientContext {
        try TLSClientContext(
            TLSClientConfiguration(
                caFile: configuration.caFile, certificateFile: configuration.clientCertificateFile,
                privateKeyFile: configuration.clientPrivateKeyFile))
    }

    /// Starts connecting (from any thread).
    public func start() {
        self.loop.execute { self.connect() }
    }

    /// Stops for good: closes the connection and reports `.stopped(.cancelled, ...)` (from any thread).
    public func stop() {
        self.loop.execute {
            guard !self.isStopped else { return }
            self.finish(code: .cancelled, message: "stopped by the embedding program")
        }
    }

    // MARK: - Connecting

    private func connect() {
        guard !self.isStopped else { return }
        self.reconnectPlanned = false
        self.attempts += 1
        self.onEvent(.connecting(attempt: self.attempts))
        let manager = self.currentManager
        Connector.connect(
            host: manager.host, port: manager.port, tls: self.tls,
            serverName: self.configuration.serverName ?? manager.host, loop: self.loop,
            limits: .defaults, handler: self,
            sessionKey: self.sessionKey
        ) { result in
            self.loop.execute {
                if case .failure(let error) = result {
                    self.planReconnect(reason: "cannot connect: \(error)", serverDelay: nil)
                }
            }
        }
    }

    /// Each delegate instance remembers its own TLS session, so a fleet in one process resumes too.
    private var sessionKey: String {
        "\(self.configuration.instanceID)@\(self.currentManager.host):\(self.currentManager.port)"
    }

    /// The manager the next connection goes to.
    private var currentManager: ManagerEndpoint {
        let managers = self.configuration.managers
        return managers[self.managerIndex % managers.count]
    }

    private func planReconnect(reason: String, serverDelay: Duration?) {
        guard !self.isStopped, !self.reconnectPlanned else { return }
        self.reconnectPlanned = true
        // With several managers, the next attempt goes to the next one: this one failed, was lost or sent GOAWAY.
        self.managerIndex = (self.managerIndex + 1) % self.configuration.managers.count
        self.heartbeatTimer?.cancel()
        self.heartbeatTimer = nil
        let delay =
            serverDelay.map { self.backoff.serverRequested($0, using: &self.jitter) }
            ?? self.backoff.failed(using: &self.jitter)
        self.onEvent(.disconnected(reason: reason, retryIn: delay))
        _ = self.loop.schedule(after: delay) {
            self.loop.execute { self.connect() }
        }
    }

    func finish(code: StatusCode, message: String) {
        self.isStopped = true
        self.abandonTasks(reason: "the delegate stopped")
        self.heartbeatTimer?.cancel()
        self.heartbeatTimer = nil
        self.connection?.close(flushFirst: true)
        self.onEvent(.stopped(code: code, message: message))
    }

    // MARK: - ConnectionHandler (on the loop)

    /// TLS is up: start the protocol with HELLO.
    public func connectionActive(_ connection: Connection) {
        self.connection = connection
        self.machine = DelegateSessionMachine()
        self.pendingTaskCalls = [:]
        self.decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxPreAuthFrameBytes)
        self.send(self.machine.helloFrame(maxFrameBytes: self.configuration.maxFrameBytes,
                                          agent: self.configuration.agent))
    }

    /// Bytes from the manager: decode frames and feed the machine.
    public func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        self.decoder.append(bytes)
        while true {
            let frame: Frame
            do {
                guard let next = try self.decoder.nextFrame() else { return }
                frame = next
            } catch {
                connection.close(flushFirst: false)
                self.planReconnect(reason: "manager sent a malformed frame: \(error)", serverDelay: nil)
                return
            }
            self.perform(self.machine.frameReceived(frame, now: self.loop.now))
        }
    }

    /// Not used: a delegate writes little.
    public func connectionWritabilityChanged(_ connection: Connection) {}

    /// The connection is gone: back off and reconnect unless stopped.
    public func connectionClosed(_ connection: Connection, error: NetError?) {
        guard connection === self.connection else { return }
        self.connection = nil
        self.delegateID = nil
        self.machine.connectionClosed()
        self.abandonTasks(reason: "the connection to the manager was lost; the manager re-dispatches it")
        if let leaving = self.leaving, !self.isStopped {
            // Leaving anyway: the manager re-queues what this delegate held when the connection goes.
            return self.finish(code: .cancelled, message: "stopped (\(leaving.reason)); the connection closed")
        }
        self.planReconnect(reason: error.map { "\($0)" } ?? "connection closed", serverDelay: nil)
    }

    // MARK: - Actions

    private func perform(_ action: DelegateSessionMachine.Action) {
        switch action {
        case .none:
            break
        case .send(let frame):
            self.send(frame)
        case .sendRegistration(let streamID, let maxFrameBytes):
            self.decoder.maxFrameBytes = maxFrameBytes
            self.sendRegistration(streamID: streamID)
        case .registered(let response, let interval):
            self.backoff.succeeded()
            self.delegateID = response.delegateID
            self.heartbeatInterval = self.configuration.heartbeatIntervalOverride ?? interval
            self.onEvent(.registered(delegateID: response.delegateID, state: response.state))
            // The first beat lands at a random point of the interval so a fleet does not beat in step.
            self.scheduleHeartbeat(
                after: HeartbeatSchedule(interval: self.heartbeatInterval).firstDelay(using: &self.jitter))
            self.registrationAnswered(response)
        case .sendHeartbeat(let streamID, let sequence):
            self.sendHeartbeat(streamID: streamID, sequence: sequence)
        case .heartbeatAcknowledged(_, let roundTrip):
            self.onEvent(.heartbeatAcknowledged(roundTrip: roundTrip))
            if self.heartbeatInterval == .zero {
                self.perform(self.machine.heartbeatDue(now: self.loop.now))
            }
        case .heartbeatRefused(let message, let retryNow):
            // A JWT minted on a clock that was wrong (or before a key change) is refused; a fresh one may pass.
            self.jwt = nil
            self.onEvent(.heartbeatRefused(reason: message))
            if retryNow { self.perform(self.machine.heartbeatDue(now: self.loop.now)) }
        case .selfDestruct(let message, let acknowledgement):
            self.send(acknowledgement)
            self.isStopped = true
            self.abandonTasks(reason: "SELF_DESTRUCT from the manager")
            self.destroySecretKeys()
            self.heartbeatTimer?.cancel()
            self.connection?.close(flushFirst: true)
            self.onEvent(.selfDestructed(reason: message.reason.isEmpty ? "ordered by the manager" : message.reason))
        case .tokenRotated(let message, let acknowledgement):
            // Switch first, then acknowledge: the manager moves this delegate to the new token on the ACK,
            // and every JWT after it (same ordered stream) is minted with the new key.
            guard let next = try? DelegateToken.parse(message.tokenValue), next.id == message.newTokenID else {
                return  // unusable value: no ACK, so the manager reports this delegate as not switched
            }
            if let path = self.configuration.tokenFile {
                do {
                    try TokenFile.write(message.tokenValue, to: path)
                } catch {
                    // Not acknowledged: the rotation report shows this delegate as not switched, so nobody revokes
                    // the old token believing a restart here would still register.
                    self.tokenRotationHandler.withLock { $0 }?(.notSaved(newTokenID: next.id, error: error))
                    return
                }
            }
            let oldTokenID = self.token.withLock { token in
                defer { token = next }
                return token.id
            }
            self.jwt = nil
            self.send(acknowledgement)
            self.tokenRotationHandler.withLock { $0 }?(
                .switched(oldTokenID: oldTokenID, newTokenID: next.id, savedTo: self.configuration.tokenFile))
        case .approvalDecided(let decision, let acknowledgement):
            self.send(acknowledgement)
            self.onEvent(.approvalDecided(approved: decision.approved, reason: decision.reason))
            self.approvalDecided(decision)
        case .taskPush(let frame, let acknowledgement):
            self.taskPushReceived(frame, acknowledgement: acknowledgement)
        case .callAnswered(let frame):
            if frame.method == CallMethod.startupScriptReport.rawValue {
                self.startupReportAnswered(frame)
                return
            }
            if frame.method == CallMethod.leave.rawValue {
                self.leaveAnswered(frame)
                return
            }
            self.taskCallAnswered(frame)
        case .reconnectLater(let reason, let reconnectAfter):
            // Plan first: closing may report `connectionClosed` at once, which must not pick the delay.
            self.planReconnect(reason: "GOAWAY: \(reason)", serverDelay: reconnectAfter)
            self.connection?.close(flushFirst: true)
        case .stop(let code, let message):
            self.finish(code: code, message: message)
        case .retry(let code, let message):
            self.planReconnect(reason: "\(code): \(message)", serverDelay: nil)
            self.connection?.close(flushFirst: true)
        }
    }

    private func scheduleHeartbeat(after delay: Duration) {
        self.heartbeatTimer?.cancel()
        self.heartbeatTimer = self.loop.schedule(after: delay) {
            self.loop.execute {
                guard self.machine.isRegistered, !self.isStopped else { return }
                self.perform(self.machine.heartbeatDue(now: self.loop.now))
                if self.heartbeatInterval > .zero {
                    // Every beat is jittered (± 10 %), so beats that started in step drift apart.
                    self.scheduleHeartbeat(
                        after: HeartbeatSchedule(interval: self.heartbeatInterval).nextDelay(using: &self.jitter))
                }
            }
        }
    }

    private func sendRegistration(streamID: UInt32) {
        var request = RegisterRequest()
        request.accountID = self.configuration.accountID
        request.delegateName = self.configuration.name
        request.hostname = self.configuration.hostname
        request.ipAddress = self.configuration.ipAddress
        request.version = self.configuration.version
        request.tags = self.configuration.tags
        request.taskTypes =
            self.configuration.taskTypes.isEmpty ? self.tasks.handlers.types : self.configuration.taskTypes
        request.profile = self.configuration.profile
        request.instanceID = self.configuration.instanceID
        request.capacity = UInt32(clamping: self.tasks.capacity)  // the runner's limit (at least 1)
        request.devicePublicKey = self.configuration.deviceKey?.publicKey.rawRepresentation ?? []
        request.jwt = self.mintJWT()  // a fresh jti for every registration: the manager refuses replays
        self.send(.request, method: CallMethod.register.rawValue, streamID: streamID, message: request)
    }

    private func sendHeartbeat(streamID: UInt32, sequence: UInt64) {
        var heartbeat = Heartbeat()
        heartbeat.jwt = self.currentJWT()
        heartbeat.delegateID = self.delegateID ?? ""
        heartbeat.sequence = sequence
        let running = self.tasks.runningCount
        heartbeat.runningTasks = UInt32(clamping: running)
        heartbeat.freeCapacity = UInt32(clamping: max(0, self.tasks.capacity - running))
        self.send(.request, method: CallMethod.heartbeat.rawValue, streamID: streamID, message: heartbeat)
    }

    /// The JWT heartbeats reuse (so the manager's validated-token cache hits), re-minted at half-life.
    private func currentJWT() -> String {
        if let jwt = self.jwt, WallClock.unixSeconds() < jwt.renewAt { return jwt.value }
        return self.mintJWT()
    }

    private func mintJWT() -> String {
        let now = WallClock.unixSeconds()
        let lifetime = max(Int64(self.configuration.jwtLifetime.components.seconds), 60)
        let claims = JWTClaims(
            subject: self.configuration.accountID, issuer: self.configuration.instanceID,
            audience: [self.configuration.audience], issuedAt: now, notBefore: now, expiresAt: now + lifetime,
            jwtID: DelegateConfiguration.newInstanceID())
        let token = self.token.withLock { $0 }
        let value = JWTMinter.mint(claims: claims, keyID: token.id, key: token.hmacKey)
        self.jwt = (value, now + lifetime / 2)
        return value
    }

    /// Closes the current connection after flushing what was written.
    func closeConnection() {
        self.connection?.close(flushFirst: true)
    }

    func send(_ frame: Frame) {
        guard let connection = self.connection else { return }
        self.scratch.removeAll(keepingCapacity: true)
        FrameEncoder.encode(frame, into: &self.scratch)
        self.scratch.withUnsafeBytes { connection.write($0) }
    }

    func send(_ type: FrameType, method: UInt16, streamID: UInt32, message: some ProtoMessage) {
        guard let connection = self.connection else { return }
        self.scratch.removeAll(keepingCapacity: true)
        FrameEncoder.encode(type, method: method, streamID: streamID, message: message, into: &self.scratch)
        self.scratch.withUnsafeBytes { connection.write($0) }
    }
}
