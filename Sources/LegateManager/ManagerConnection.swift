import LegateAuth
import LegateCore
import LegateNet
import LegateWire

/// One delegate connection on the manager: moves frames between the socket and the state machine and
/// performs the machine's actions. Heartbeats are read, verified and answered right here, on the
/// connection's own loop, with no hop to another queue (DESIGN.md §6).
///
/// `@unchecked Sendable`: all mutable state is touched only on `loopState.loop.queue`, where LegateNet calls
/// the handler methods; the `LiveDelegateConnection` methods, callable from anywhere, hop there first.
final class ManagerConnection: ConnectionHandler, LiveDelegateConnection, @unchecked Sendable {
    /// Who is on the other end, once registered.
    struct Identity {
        let delegateID: String
        let accountID: String
        var tokenID: String
        let instanceID: String
    }

    let services: ManagerServices
    let loopState: LoopState
    let connection: Connection
    var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxPreAuthFrameBytes)
    var machine: ServerConnectionMachine
    var identity: Identity?
    /// Set once an admin API key was accepted on this connection.
    var adminSession: AdminSession?
    private var lastHeartbeatAt: Int64 = 0
    private var heartbeatChanged = false
    /// Stream of the SELF_DESTRUCT push awaiting its PUSH_ACK, and who wants to hear how it ended.
    var selfDestructStreamID: UInt32?
    /// The delegate acknowledged SELF_DESTRUCT (possibly one sent on a heartbeat before a revoke's fan-out
    /// reached this connection): the fan-out counts it as told and acknowledged, not as unreached.
    var selfDestructAcknowledged = false
    var selfDestructProgress: (@Sendable (PushEvent) -> Void)?
    /// Registered as pending and not approved yet: heartbeat acks say PENDING. Kept here, not read from the shared
    /// registry, so the heartbeat path takes no lock (approval reaches this connection on its loop).
    var isPending = false
    /// Tasks the delegate said it can run at once (RegisterRequest.capacity, at least 1).
    var announcedCapacity = 1
    /// TASK_ASSIGN pushes awaiting their PUSH_ACK: stream id -> (task id, attempt).
    var taskAssignmentsInFlight: [UInt32: (taskID: String, attempt: UInt32)] = [:]
    /// The TOKEN_ROTATED push awaiting its PUSH_ACK.
    var pendingRotation: (streamID: UInt32, message: TokenRotated, progress: @Sendable (PushEvent) -> Void)?

    init(services: ManagerServices, loopState: LoopState, connection: Connection) {
        self.services = services
        self.loopState = loopState
        self.connection = connection
        self.machine = ServerConnectionMachine(
            configuration: services.configuration.connection, now: loopState.loop.now)
    }

    // MARK: - ConnectionHandler (on the loop)

    func connectionActive(_ connection: Connection) {
        self.machine = ServerConnectionMachine(
            configuration: self.services.configuration.connection, now: self.loopState.loop.now)
        self.loopState.add(self)
    }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        self.decoder.append(bytes)
        while !self.machine.isClosed {
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
        self.machine.connectionClosed()
        self.loopState.remove(self)
        self.finishSelfDestruct(.closedWithoutAcknowledgement)
        self.pendingRotation?.progress(.closedWithoutAcknowledgement)
        self.pendingRotation = nil
        guard let identity = self.identity else { return }
        self.delegateBecameUnavailable()
        let now = WallClock.unixMilliseconds()
        if var record = self.services.registry.detach(
            delegateID: identity.delegateID, connection: self, at: now)
        {
            if self.lastHeartbeatAt > 0 { record.lastHeartbeatAt = self.lastHeartbeatAt }
            self.services.writer.submit([.upsertDelegate(record)])
            self.services.log.log(
                .info, "delegate disconnected",
                ["delegate.id": identity.delegateID, "reason": error.map { "\($0)" } ?? "closed"])
        }
    }

    // MARK: - Actions

    func perform(_ action: ServerConnectionMachine.Action) {
        switch action {
        case .none:
            break
        case .send(let frame), .completeHello(let frame), .refuseCall(let frame):
            self.loopState.send(frame, on: self.connection)
        case .register(let streamID, let request):
            self.announcedCapacity = Int(max(1, min(request.capacity, 10_000)))
            self.registrationReceived(streamID: streamID, request: request)
        case .acceptRegistration(let response, let maxFrameBytes):
            self.decoder.maxFrameBytes = maxFrameBytes
            self.loopState.send(response, on: self.connection)
        case .heartbeat(let streamID, let heartbeat):
            self.heartbeatReceived(streamID: streamID, heartbeat: heartbeat)
        case .delegateCall(let frame):
            if frame.method == CallMethod.startupScriptReport.rawValue {
                self.startupScriptReportReceived(frame)
            } else {
                self.taskCallReceived(frame)
            }
        case .pushAcknowledged(let kind, let streamID):
            if kind == PushKind.selfDestruct.rawValue, streamID == self.selfDestructStreamID {
                self.selfDestructAcknowledged = true
                self.finishSelfDestruct(.acknowledged)
                self.connection.close(flushFirst: true)
            } else if kind == PushKind.tokenRotated.rawValue, let rotation = self.pendingRotation,
                rotation.streamID == streamID
            {
                self.rotationAcknowledged(rotation.message, progress: rotation.progress)
            } else if kind == PushKind.taskAssign.rawValue || kind == PushKind.taskCancel.rawValue {
                self.taskPushAcknowledged(kind: kind, streamID: streamID)
            }
        case .authenticateAdmin(let streamID, let request):
            self.adminAuthenticationReceived(streamID: streamID, request: request)
        case .adminCall(let frame):
            self.adminCallReceived(frame)
        case .closeWithError(let code, let message):
            self.services.log.log(
                .info, "closing connection",
                ["peer": self.connection.peerAddress, "status": "\(code)", "reason": message,
                 "delegate.id": self.identity?.delegateID ?? "-"])
            var status = Status()
            status.code = code
            status.message = message
            self.loopState.send(.error, method: 0, streamID: 0, message: status, on: self.connection)
            self.connection.close(flushFirst: true)
        case .close:
            self.connection.close(flushFirst: true)
        }
    }

    // MARK: - Heartbeats (the hot path)

    private func heartbeatReceived(streamID: UInt32, heartbeat: Heartbeat) {
        // Told to self-destruct: the connection is going away; a beat sent before the push arrived is moot.
        guard let identity = self.identity, self.selfDestructStreamID == nil else { return }
        let nowMilliseconds = WallClock.unixMilliseconds()  // one clock read serves the JWT check and the ack
        let verified: VerifiedJWT
        do {
            verified = try self.services.validator.verify(heartbeat.jwt, now: nowMilliseconds / 1000)
        } catch {
            self.authenticationFailed(error, call: "heartbeat", accountID: identity.accountID)
            return
        }
        guard verified.keyID == identity.tokenID, verified.claims.subject == identity.accountID,
            verified.claims.issuer == identity.instanceID
        else {
            self.loopState.metrics.authFailures.increment(.claims)
            self.services.audit(
                accountID: identity.accountID, actor: "delegate:\(identity.delegateID)", action: "auth.failure",
                target: identity.delegateID, outcome: "denied", detail: "heartbeat JWT names another delegate")
            self.perform(
                self.machine.connectionFailed(
                    code: .unauthenticated, message: "heartbeat JWT does not belong to this delegate's registration"))
            return
        }
        self.machine.heartbeatVerified(now: self.loopState.loop.now)
        self.loopState.metrics.heartbeatsReceived.increment()
        self.lastHeartbeatAt = nowMilliseconds
        self.heartbeatChanged = true
        var ack = HeartbeatAck()
        ack.sequence = heartbeat.sequence
        ack.serverTimeMs = nowMilliseconds
        ack.state = self.isPending ? .pending : .active
        self.loopState.send(
            .response, method: CallMethod.heartbeat.rawValue, streamID: streamID, message: ack, on: self.connection)
    }

    /// Refuses after a JWT failure: the peer gets a coarse status, the log and the audit the precise reason.
    func authenticationFailed(_ error: AuthError, call: String, accountID: String) {
        let (code, message) = self.peerStatus(for: error)
        self.countAuthenticationFailure(error)
        self.services.log.log(
            .warning, "\(call) refused", ["peer": self.connection.peerAddress, "reason": error.description])
        self.services.audit(
            accountID: accountID, actor: "peer:\(self.connection.peerAddress)", action: "auth.failure",
            target: call, outcome: "denied", detail: error.description)
        if case .unknownKeyID(let keyID) = error, self.services.tokens.entry(tokenID: keyID)?.status == .revoked {
            // A delegate that was offline during the revoke learns it now and stops for good. A registered one
            // whose beat overtook the revoke's push is told here and closes on its PUSH_ACK, like the others.
            self.pushSelfDestruct(reason: message, tokenID: keyID, progress: nil)
            if self.identity != nil { return }
        }
        if self.identity == nil {
            self.perform(self.machine.registrationRefused(code: code, message: message))
        } else {
            self.perform(self.machine.connectionFailed(code: code, message: message))
        }
    }

    /// The coarse status a peer is told for a JWT failure; the precise reason stays in the log and audit.
    private func peerStatus(for error: AuthError) -> (StatusCode, String) {
        switch error {
        case .unknownKeyID(let keyID):
            if self.services.tokens.entry(tokenID: keyID)?.status == .revoked {
                return (.permissionDenied, "delegate token \(keyID) has been revoked; install a new token")
            }
            return (.unauthenticated, "unknown delegate token; check LEGATE_DELEGATE_TOKEN")
        case .expired, .notYetValid, .issuedInFuture:
            return (.unauthenticated, "JWT is outside its validity window; check the delegate's clock")
        case .subjectMismatch:
            return (.unauthenticated, "the delegate token does not belong to this account")
        default:
            return (.unauthenticated, "JWT rejected")
        }
    }

    // MARK: - Timers and pushes

    func tick(now: MonotonicInstant) {
        let action = self.machine.tick(now: now)
        if self.identity != nil, case .closeWithError(let code, _) = action, code == .deadlineExceeded {
            self.loopState.metrics.heartbeatsMissed.increment()
        }
        self.perform(action)
    }

    func takeHeartbeatMark() -> HeartbeatMark? {
        guard self.heartbeatChanged, let identity = self.identity else { return nil }
        self.heartbeatChanged = false
        return HeartbeatMark(delegateID: identity.delegateID, at: self.lastHeartbeatAt)
    }

    func startDraining(reason: String, reconnectAfter: Duration) {
        self.perform(
            self.machine.startDraining(
                reason: reason, reconnectAfter: reconnectAfter, now: self.loopState.loop.now,
                drainTimeout: self.services.configuration.drainTimeout))
    }

    func supersede() {
        self.loopState.loop.execute {
            self.identity = nil  // the newer connection owns the record now
            self.perform(
                self.machine.connectionFailed(code: .aborted, message: "a newer connection of this delegate took over"))
        }
    }
}
