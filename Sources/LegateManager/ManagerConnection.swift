import Dispatch
import LegateAuth
import LegateCore
import LegateNet
import LegateWire

/// One delegate or admin connection on the manager: decodes frames, feeds the state machine and performs its
/// actions. Heartbeats are read, verified and answered right here, on the connection's own loop, with no hop.
///
/// `@unchecked Sendable`: all mutable state is touched only on `loopState.loop.queue`, where LegateNet calls
/// the handler methods; the `LiveDelegateConnection` methods, callable from anywhere, hop there first.
final class ManagerConnection: ConnectionHandler, LiveDelegateConnection, @unchecked Sendable {
    let services: ManagerServices
    let loopState: LoopState
    let connection: Connection
    var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxPreAuthFrameBytes)
    var machine: ServerConnectionMachine
    /// Who waits to hear how a SELF_DESTRUCT or TOKEN_ROTATED push ended, by push stream id.
    var pushProgress: [UInt32: @Sendable (PushEvent) -> Void] = [:]
    /// The delegate acknowledged SELF_DESTRUCT (possibly one sent on a heartbeat before a revoke's fan-out
    /// reached this connection): a later fan-out counts it as told and acknowledged, not as unreached.
    var selfDestructAcknowledged = false

    init(services: ManagerServices, loopState: LoopState, connection: Connection) {
        self.services = services
        self.loopState = loopState
        self.connection = connection
        self.machine = ServerConnectionMachine(
            configuration: services.configuration.connection, now: loopState.loop.now)
    }

    /// Debug builds check that a handler runs on the loop that owns this connection.
    func assertOnLoop() {
        #if DEBUG
            dispatchPrecondition(condition: .onQueue(self.loopState.loop.queue))
        #endif
    }

    // MARK: - ConnectionHandler (on the loop)

    func connectionActive(_ connection: Connection) {
        self.assertOnLoop()
        self.machine = ServerConnectionMachine(
            configuration: self.services.configuration.connection, now: self.loopState.loop.now)
        self.loopState.add(self)
        self.services.log.debug(
            "connection opened",
            ["peer": connection.peerAddress, "connection.id": "\(connection.id)",
             "tls.resumed": "\(connection.isSessionResumed)"])
    }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        self.assertOnLoop()
        self.decoder.append(bytes)
        // The machine ignores frames once it is closed; the loop asks it nothing else, because reading a struct
        // property of this class copies the whole machine.
        while true {
            let frame: Frame
            do {
                guard let next = try self.decoder.nextFrame() else { return }
                frame = next
            } catch {
                self.perform(self.machine.connectionFailed(code: error.status, message: error.description))
                return
            }
            self.perform(self.machine.frameReceived(frame, now: self.loopState.loop.now))
        }
    }

    func connectionWritabilityChanged(_ connection: Connection) {}

    func connectionClosed(_ connection: Connection, error: NetError?) {
        self.assertOnLoop()
        // Read before the machine forgets the session: a close after SELF_DESTRUCT is the delegate's end.
        let selfDestructed = self.selfDestructAcknowledged || self.machine.registered?.selfDestructStreamID != nil
        self.machine.connectionClosed()
        self.loopState.remove(self)
        let progress = self.pushProgress
        self.pushProgress = [:]
        for report in progress.values { report(.closedWithoutAcknowledgement) }
        self.services.log.debug(
            "connection closed",
            ["peer": connection.peerAddress, "connection.id": "\(connection.id)",
             "reason": error.map { "\($0)" } ?? "closed"])
        guard let identity = self.machine.delegateIdentity else { return }
        self.lifecycle.disconnected(
            identity, connection: self, lastHeartbeatAt: self.machine.lastHeartbeatAt,
            reason: error.map { "\($0)" } ?? "closed", selfDestructed: selfDestructed)
    }

    // MARK: - Actions

    func perform(_ action: ServerConnectionMachine.Action) {
        switch action {
        case .none, .pushAcknowledged, .taskCancelAcknowledged:
            break  // nothing waits for these acknowledgements
        case .send(let frame), .completeHello(let frame), .refuseCall(let frame):
            self.loopState.send(frame, on: self.connection)
        case .register(let streamID, let request):
            self.registrationReceived(streamID: streamID, request: request)
        case .acceptRegistration(let response, let maxFrameBytes), .acceptAdmin(let response, let maxFrameBytes):
            self.decoder.maxFrameBytes = maxFrameBytes
            self.loopState.send(response, on: self.connection)
        case .heartbeat(let streamID, let heartbeat, let identity, let isPending):
            self.heartbeatReceived(streamID: streamID, heartbeat: heartbeat, identity: identity, isPending: isPending)
        case .taskUpdate(let streamID, let update):
            self.services.tasks.update(update, delegateID: self.delegateID, connection: self, streamID: streamID)
        case .taskResult(let streamID, let result):
            self.services.tasks.result(result, delegateID: self.delegateID, connection: self, streamID: streamID)
        case .startupScriptReport(let streamID, let report):
            self.startupScriptReportReceived(streamID: streamID, report: report)
        case .leave(let streamID, let request):
            self.leaveReceived(streamID: streamID, request: request)
        case .secretOpened(let streamID, let report):
            self.secretOpenedReceived(streamID: streamID, report: report)
        case .ringWork(let streamID, let shared, let rotated):
            self.ringWorkAnswered(streamID: streamID, shared: shared, rotated: rotated)
        case .selfDestructAcknowledged(let streamID, let code, let message):
            self.selfDestructAcknowledged = true
            self.pushProgress.removeValue(forKey: streamID)?(.acknowledged)
            self.closeWithError(code: code, message: message)
        case .tokenRotationAcknowledged(let streamID, _, let newTokenID):
            self.rotationAcknowledged(streamID: streamID, newTokenID: newTokenID)
        case .taskAssignAcknowledged(let taskID, let attempt):
            self.services.tasks.acknowledged(taskID: taskID, attempt: attempt, delegateID: self.delegateID)
        case .authenticateAdmin(let streamID, let request):
            self.authenticateAdmin(streamID: streamID, request: request)
        case .adminCall(let frame, let session):
            self.serveAdminCall(frame, session: session)
        case .closeWithError(let code, let message):
            self.closeWithError(code: code, message: message)
        case .close:
            self.connection.close(flushFirst: true)
        }
    }

    /// The registered delegate's id (empty before registration; calls needing it are only handed up after).
    var delegateID: String { self.machine.registeredIdentity?.delegateID ?? "" }

    private func closeWithError(code: StatusCode, message: String) {
        self.services.log.log(
            .info, "closing connection",
            ["peer": self.connection.peerAddress, "status": "\(code)", "reason": message,
             "delegate.id": self.machine.delegateIdentity?.delegateID ?? "-"])
        var status = Status()
        status.code = code
        status.message = message
        self.loopState.send(.error, method: 0, streamID: 0, message: status, on: self.connection)
        self.connection.close(flushFirst: true)
    }

    // MARK: - Heartbeats (the hot path)

    private func heartbeatReceived(
        streamID: UInt32, heartbeat: Heartbeat, identity: DelegateIdentity, isPending: Bool
    ) {
        let nowMilliseconds = self.services.clock.unixMilliseconds()  // one read serves the JWT check and the ack
        let verified: VerifiedJWT
        do {
            verified = try self.services.validator.verify(heartbeat.jwt, now: nowMilliseconds / 1000)
        } catch {
            self.heartbeatAuthenticationFailed(error, streamID: streamID, identity: identity)
            return
        }
        guard verified.keyID == identity.tokenID, verified.claims.subject == identity.accountID,
            verified.claims.issuer == identity.instanceID
        else {
            // A valid JWT of another delegate is not a clock problem a re-mint fixes: the peer is confused or hostile.
            self.loopState.metrics.authFailures.increment(.claims)
            self.services.audit(
                accountID: identity.accountID, actor: "delegate:\(identity.delegateID)", action: "auth.failure",
                target: identity.delegateID, outcome: "denied", detail: "heartbeat JWT names another delegate")
            self.perform(
                self.machine.connectionFailed(
                    code: .unauthenticated, message: "heartbeat JWT does not belong to this delegate's registration"))
            return
        }
        self.machine.heartbeatVerified(now: self.loopState.loop.now, at: nowMilliseconds)
        self.loopState.metrics.heartbeatsReceived.increment()
        var ack = HeartbeatAck()
        ack.sequence = heartbeat.sequence
        ack.serverTimeMs = nowMilliseconds
        ack.state = isPending ? .pending : .active
        self.loopState.send(
            .response, method: CallMethod.heartbeat.rawValue, streamID: streamID, message: ack, on: self.connection)
    }

    /// A heartbeat's JWT failed: a revoked token is told to self-destruct and the beat refused; anything else is
    /// refused on the call (the machine closes after a few in a row).
    private func heartbeatAuthenticationFailed(_ error: AuthError, streamID: UInt32, identity: DelegateIdentity) {
        let (code, message) = self.lifecycle.heartbeatRefused(error, identity: identity, peer: self.connection.peerAddress)
        guard code == .permissionDenied, case .unknownKeyID(let keyID) = error else {
            return self.perform(self.machine.heartbeatRefused(streamID: streamID, code: code, message: message))
        }
        self.pushSelfDestruct(reason: message, tokenID: keyID, progress: nil)
        let method = CallMethod.heartbeat.rawValue
        self.deliverOnLoop([.answer(method: method, streamID: streamID, refusal: (code, message))])
    }

    // MARK: - Timers and draining

    func tick(now: MonotonicInstant) {
        self.assertOnLoop()
        let action = self.machine.tick(now: now)
        if case .closeWithError(.deadlineExceeded, _) = action, self.machine.delegateIdentity != nil {
            self.loopState.metrics.heartbeatsMissed.increment()  // a registered delegate's grace passed
        }
        self.perform(action)
    }

    func takeHeartbeatMark() -> HeartbeatMark? {
        self.machine.takeHeartbeatMark().map { HeartbeatMark(delegateID: $0.delegateID, at: $0.at) }
    }

    func startDraining(reason: String, reconnectAfter: Duration) {
        self.assertOnLoop()
        self.perform(
            self.machine.startDraining(
                reason: reason, reconnectAfter: reconnectAfter, now: self.loopState.loop.now,
                drainTimeout: self.services.configuration.drainTimeout))
    }

    func supersede() {
        self.loopState.loop.execute {
            // The registry and the task service already point at the newer connection, so closing this one
            // detaches nothing of it (both check which connection they hold).
            self.perform(
                self.machine.connectionFailed(code: .aborted, message: "a newer connection of this delegate took over"))
        }
    }
}
