import LegateWire

/// The manager's side of one delegate or admin connection, as a pure state machine (Proto/FRAMING.md §2, §4).
///
/// The I/O layer feeds it decoded frames and the time; it answers with one action to perform. It owns the
/// protocol's sequencing, stream ids, deadlines and everything a connection knows about its peer (identity,
/// approval state, capacity, pushes awaiting acknowledgement). JWT verification and store writes belong to the
/// layer above, which reports their outcome back (`registrationAccepted`, `heartbeatVerified`, ...).
public struct ServerConnectionMachine: Sendable {
    enum State: Sendable {
        case awaitingHello(deadline: MonotonicInstant)
        case awaitingRegistration(deadline: MonotonicInstant)
        case registering(streamID: UInt32, capacity: Int, deadline: MonotonicInstant)
        case registered(RegisteredSession)
        case authenticatingAdmin(streamID: UInt32, deadline: MonotonicInstant)
        case admin(session: AdminSession, idleSince: MonotonicInstant, drainDeadline: MonotonicInstant?)
        case draining(deadline: MonotonicInstant)
        /// Closed; `departed` is who was registered, so the layer above can detach it.
        case closed(departed: DelegateIdentity?)
    }

    /// The connection's configuration.
    public let configuration: Configuration
    var state: State
    var nextPushStreamID: UInt32 = 2
    /// Highest client call stream id seen; calls must use odd, strictly increasing ids (Proto/FRAMING.md §1.2).
    public private(set) var lastClientStreamID: UInt32 = 0
    /// The largest frame the peer said it accepts (`Hello.max_frame_bytes`; the default until HELLO, never above
    /// the ceiling): nothing larger may be sent to it.
    public private(set) var peerMaxFrameBytes: Int = FrameLimits.defaultMaxFrameBytes
    /// Last verified heartbeat, Unix milliseconds (0 before the first); kept after the connection closes.
    public internal(set) var lastHeartbeatAt: Int64 = 0
    /// The registry has not been given `lastHeartbeatAt` yet.
    var isHeartbeatMarkNew = false

    /// Starts a machine for a connection whose TLS handshake completed at `now`.
    public init(configuration: Configuration, now: MonotonicInstant) {
        self.configuration = configuration
        self.state = .awaitingHello(deadline: now + configuration.helloTimeout)
    }

    /// The registered session, else nil.
    public var registered: RegisteredSession? {
        if case .registered(let session) = self.state { return session }
        return nil
    }

    /// The delegate id once registered, else nil.
    public var registeredDelegateID: String? { self.registered?.identity.delegateID }

    /// Who registered, else nil.
    public var registeredIdentity: DelegateIdentity? { self.registered?.identity }

    /// Who is or was registered on this connection (kept after it closes), else nil.
    public var delegateIdentity: DelegateIdentity? {
        switch self.state {
        case .registered(let session): return session.identity
        case .closed(let departed): return departed
        default: return nil
        }
    }

    /// True while registered as pending (heartbeat acks say PENDING).
    public var isPending: Bool { self.registered?.isPending ?? false }

    /// The admin session once an admin key was accepted, else nil.
    public var adminSession: AdminSession? {
        if case .admin(let session, _, _) = self.state { return session }
        return nil
    }

    /// True while a SELF_DESTRUCT push awaits its acknowledgement.
    public var isSelfDestructing: Bool { self.registered?.selfDestruct != nil }

    /// True once the machine has decided to close.
    public var isClosed: Bool {
        if case .closed = self.state { return true }
        return false
    }

    // MARK: - Events

    /// A complete frame arrived from the peer.
    public mutating func frameReceived(_ frame: Frame, now: MonotonicInstant) -> Action {
        switch frame.type {
        case .ping:
            guard frame.payload.count <= 8 else {
                return self.fail(.invalidArgument, "PING payload of \(frame.payload.count) bytes exceeds 8")
            }
            if case .closed = self.state { return .none }
            return .send(Frame(type: .pong, payload: frame.payload))
        case .pong:
            return .none
        case .request:
            switch self.state {
            case .closed: return .none
            case .awaitingHello: return self.helloFrameReceived(frame, now: now)
            default: break
            }
            guard frame.streamID & 1 == 1, frame.streamID > self.lastClientStreamID else {
                return self.fail(
                    .invalidArgument,
                    "call on stream \(frame.streamID) after stream \(self.lastClientStreamID): client calls use odd, "
                        + "strictly increasing stream ids")
            }
            self.lastClientStreamID = frame.streamID
        case .pushAck:
            if case .closed = self.state { return .none }
            guard frame.streamID != 0, frame.streamID & 1 == 0 else {
                return self.fail(
                    .invalidArgument, "PUSH_ACK on stream \(frame.streamID): pushes use even, non-zero stream ids")
            }
        default:
            break
        }
        switch self.state {
        case .awaitingHello:
            return self.helloFrameReceived(frame, now: now)
        case .awaitingRegistration(let deadline):
            if frame.type == .request, frame.method == AdminMethod.authenticate.rawValue {
                return self.adminAuthenticateFrameReceived(frame, deadline: deadline)
            }
            guard frame.type == .request, frame.method == CallMethod.register.rawValue else {
                return self.fail(.failedPrecondition, "expected a Register call after HELLO, got \(frame.type)")
            }
            return self.registerFrameReceived(frame, deadline: deadline)
        case .authenticatingAdmin:
            return self.fail(.failedPrecondition, "frame \(frame.type) sent while the admin key is being checked")
        case .admin(let session, _, let drainDeadline):
            self.state = .admin(session: session, idleSince: now, drainDeadline: drainDeadline)
            return self.adminFrameReceived(frame, session: session, isDraining: drainDeadline != nil)
        case .registering:
            return self.fail(.failedPrecondition, "frame \(frame.type) sent while the registration is in progress")
        case .registered(let session):
            return self.registeredFrameReceived(frame, session: session)
        case .draining:
            if frame.type == .request {
                return .refuseCall(Self.errorFrame(for: frame, code: .unavailable, "manager is shutting down"))
            }
            return .none
        case .closed:
            return .none
        }
    }

    /// The layer above accepted the registration of `identity`: answer it and enter the registered state.
    /// Without an identity (tests of sequencing only) the response's delegate id is used.
    public mutating func registrationAccepted(
        streamID: UInt32, response: RegisterResponse, identity: DelegateIdentity? = nil, now: MonotonicInstant
    ) -> Action {
        guard case .registering(let pending, let capacity, _) = self.state, pending == streamID else { return .none }
        let identity =
            identity ?? DelegateIdentity(delegateID: response.delegateID, accountID: "", tokenID: "", instanceID: "")
        self.state = .registered(
            RegisteredSession(
                identity: identity, isPending: response.state == .pending, capacity: capacity, lastHeartbeat: now))
        var frame = Frame(type: .response, method: CallMethod.register.rawValue, streamID: streamID)
        frame.payload = response.protoBytes()
        return .acceptRegistration(response: frame, maxFrameBytes: self.configuration.maxFrameBytes)
    }

    /// The layer above refused the registration: tell the peer why and close.
    public mutating func registrationRefused(code: StatusCode, message: String) -> Action {
        guard case .registering = self.state else { return .none }
        return self.fail(code, message)
    }

    /// The layer above accepted the admin key: answer and enter the admin state (admin calls only).
    public mutating func adminAuthenticated(
        streamID: UInt32, session: AdminSession, response: AdminAuthenticated, now: MonotonicInstant
    ) -> Action {
        guard case .authenticatingAdmin(let pending, _) = self.state, pending == streamID else { return .none }
        self.state = .admin(session: session, idleSince: now, drainDeadline: nil)
        let frame = Frame(
            type: .response, method: AdminMethod.authenticate.rawValue, streamID: streamID,
            payload: response.protoBytes())
        return .acceptAdmin(response: frame, maxFrameBytes: self.configuration.maxFrameBytes)
    }

    /// The layer above refused the admin key: tell the peer why and close.
    public mutating func adminAuthenticationRefused(code: StatusCode, message: String) -> Action {
        guard case .authenticatingAdmin = self.state else { return .none }
        return self.fail(code, message)
    }

    /// The connection must end with this status (the frame decoder found garbage, a newer connection took over):
    /// the machine closes, so later frames are ignored.
    public mutating func connectionFailed(code: StatusCode, message: String) -> Action {
        self.fail(code, message)
    }

    /// Periodic check of deadlines; the I/O layer calls it about once a second.
    public mutating func tick(now: MonotonicInstant) -> Action {
        switch self.state {
        case .awaitingHello(let deadline) where now >= deadline:
            return self.fail(.deadlineExceeded, "no HELLO within \(self.configuration.helloTimeout)")
        case .awaitingRegistration(let deadline) where now >= deadline,
            .registering(_, _, let deadline) where now >= deadline,
            .authenticatingAdmin(_, let deadline) where now >= deadline:
            return self.fail(.deadlineExceeded, "no registration within \(self.configuration.registrationTimeout)")
        case .registered(let session):
            return self.registeredTick(session, now: now)
        case .admin(_, _, let drainDeadline?) where now >= drainDeadline:
            self.enterClosed()
            return .close
        case .admin(_, let idleSince, nil) where now >= idleSince + self.configuration.adminIdleTimeout:
            return self.fail(.deadlineExceeded, "admin connection idle for \(self.configuration.adminIdleTimeout)")
        case .draining(let deadline) where now >= deadline:
            self.enterClosed()
            return .close
        default:
            return .none
        }
    }

    /// The manager is shutting down: send GOAWAY naming the last call processed, and close at the drain deadline.
    /// A registered delegate may still report its running tasks (TaskUpdate, TaskResult) and acknowledge pushes
    /// until then; every other call is refused with UNAVAILABLE.
    public mutating func startDraining(
        reason: String, reconnectAfter: Duration, now: MonotonicInstant, drainTimeout: Duration = .seconds(5)
    ) -> Action {
        let deadline = now + drainTimeout
        switch self.state {
        case .closed, .draining:
            return .none
        case .registered(var session):
            guard session.drainDeadline == nil else { return .none }
            session.drainDeadline = deadline
            self.state = .registered(session)
        case .admin(let session, let idleSince, nil):
            self.state = .admin(session: session, idleSince: idleSince, drainDeadline: deadline)
        case .admin:
            return .none
        default:
            self.state = .draining(deadline: deadline)
        }
        var goAway = GoAway()
        goAway.reason = reason
        goAway.reconnectAfterMs = reconnectAfter.wireMilliseconds
        goAway.lastStreamID = self.lastClientStreamID
        return .send(Frame(type: .goAway, payload: goAway.protoBytes()))
    }

    /// Allocates the stream id of a push nothing tracks (even numbers, Proto/FRAMING.md §1.2).
    public mutating func allocatePushStreamID() -> UInt32 {
        let id = self.nextPushStreamID
        self.nextPushStreamID = self.nextPushStreamID &+ 2
        if self.nextPushStreamID == 0 { self.nextPushStreamID = 2 }
        return id
    }

    /// The peer or the I/O layer closed the connection.
    public mutating func connectionClosed() {
        self.enterClosed()
    }

    /// Closes, remembering who was registered.
    mutating func enterClosed() {
        if case .closed = self.state { return }
        self.state = .closed(departed: self.registeredIdentity)
    }

    // MARK: - Before registration

    private mutating func helloFrameReceived(_ frame: Frame, now: MonotonicInstant) -> Action {
        guard frame.type == .hello else {
            return self.fail(.failedPrecondition, "first frame must be HELLO, got \(frame.type)")
        }
        let hello: Hello
        do {
            hello = try Hello(protoBytes: frame.payload)
        } catch {
            return self.fail(error.status, "HELLO is malformed: \(error)")
        }
        guard hello.protocolVersion == self.configuration.protocolVersion else {
            return self.fail(
                .failedPrecondition,
                "protocol version \(hello.protocolVersion) is not supported; this manager speaks "
                    + "\(self.configuration.protocolVersion)")
        }
        self.state = .awaitingRegistration(deadline: now + self.configuration.registrationTimeout)
        self.peerMaxFrameBytes = FrameLimits.peerLimit(announced: hello.maxFrameBytes)
        var ack = HelloAck()
        ack.protocolVersion = self.configuration.protocolVersion
        ack.maxFrameBytes = UInt32(clamping: self.configuration.maxFrameBytes)
        ack.heartbeatIntervalMs = self.configuration.heartbeatInterval.wireMilliseconds
        ack.heartbeatGraceMs = self.configuration.heartbeatGrace.wireMilliseconds
        ack.managerID = self.configuration.managerID
        return .completeHello(Frame(type: .helloAck, payload: ack.protoBytes()))
    }

    private mutating func registerFrameReceived(_ frame: Frame, deadline: MonotonicInstant) -> Action {
        let request: RegisterRequest
        do {
            request = try RegisterRequest(protoBytes: frame.payload)
        } catch {
            return self.fail(error.status, "Register request is malformed: \(error)")
        }
        let capacity = Int(max(1, min(request.capacity, 10_000)))
        self.state = .registering(streamID: frame.streamID, capacity: capacity, deadline: deadline)
        return .register(streamID: frame.streamID, request: request)
    }

    private mutating func adminAuthenticateFrameReceived(_ frame: Frame, deadline: MonotonicInstant) -> Action {
        let request: AdminAuthenticate
        do {
            request = try AdminAuthenticate(protoBytes: frame.payload)
        } catch {
            return self.fail(error.status, "AdminAuthenticate request is malformed: \(error)")
        }
        self.state = .authenticatingAdmin(streamID: frame.streamID, deadline: deadline)
        return .authenticateAdmin(streamID: frame.streamID, request: request)
    }

    private mutating func adminFrameReceived(_ frame: Frame, session: AdminSession, isDraining: Bool) -> Action {
        switch frame.type {
        case .request where isDraining:
            return .refuseCall(Self.errorFrame(for: frame, code: .unavailable, "manager is shutting down"))
        case .request where frame.method > AdminMethod.authenticate.rawValue:
            return .adminCall(frame, session: session)
        case .request:
            return .refuseCall(
                Self.errorFrame(for: frame, code: .failedPrecondition, "method \(frame.method) is not an admin call"))
        default:
            return self.fail(.failedPrecondition, "unexpected \(frame.type) frame on an admin connection")
        }
    }

    mutating func fail(_ code: StatusCode, _ message: String) -> Action {
        if case .closed = self.state { return .none }
        self.enterClosed()
        return .closeWithError(code: code, message: message)
    }

    /// An ERROR frame answering `request` with `code` and `message`.
    public static func errorFrame(for request: Frame, code: StatusCode, _ message: String) -> Frame {
        self.errorFrame(method: request.method, streamID: request.streamID, code: code, message)
    }

    /// An ERROR frame answering the call `method` on `streamID` with `code` and `message`.
    public static func errorFrame(method: UInt16, streamID: UInt32, code: StatusCode, _ message: String) -> Frame {
        var status = Status()
        status.code = code
        status.message = message
        return Frame(type: .error, method: method, streamID: streamID, payload: status.protoBytes())
    }
}
