import LegateWire

/// The manager's side of one delegate connection, as a pure state machine (Proto/FRAMING.md §4).
///
/// The I/O layer feeds it decoded frames and the time; it answers with one action to perform. It decides
/// protocol sequencing and deadlines only: JWT verification and registry updates belong to the layer above,
/// which reports their outcome back (`registrationAccepted`, `registrationRefused`, `heartbeatVerified`).
public struct ServerConnectionMachine: Sendable {
    /// Limits and timings of a connection.
    public struct Configuration: Sendable, Equatable {
        /// Wire protocol version spoken by this manager.
        public var protocolVersion: UInt32 = ProtocolVersion.current
        /// Time from TLS completion to HELLO. Default 5 s.
        public var helloTimeout: Duration = .seconds(5)
        /// Time from HELLO to a successful registration. Default 10 s.
        public var registrationTimeout: Duration = .seconds(10)
        /// Interval announced to delegates. Default 10 s.
        public var heartbeatInterval: Duration = .seconds(10)
        /// Silence after which a registered delegate is dropped. Default 3 intervals (30 s).
        public var heartbeatGrace: Duration = .seconds(30)
        /// An authenticated admin connection with no call for this long is closed. Default 5 min.
        public var adminIdleTimeout: Duration = .seconds(300)
        /// Largest frame accepted after registration. Default 1 MiB.
        public var maxFrameBytes: Int = FrameLimits.defaultMaxFrameBytes
        /// Identifier announced in HELLO_ACK.
        public var managerID: String = "legate"

        /// The documented defaults.
        public static let defaults = Configuration()

        /// Creates the default configuration; adjust fields afterwards.
        public init() {}
    }

    /// What the I/O layer must do next.
    public enum Action: Equatable, Sendable {
        /// Nothing to do.
        case none
        /// Send this frame.
        case send(Frame)
        /// Send this frame (HELLO_ACK), keeping the pre-authentication frame limit.
        case completeHello(Frame)
        /// Verify and record this registration, then call `registrationAccepted` or `registrationRefused`.
        case register(streamID: UInt32, request: RegisterRequest)
        /// Send the registration response and raise the decoder's frame limit to `maxFrameBytes`.
        case acceptRegistration(response: Frame, maxFrameBytes: Int)
        /// Verify this heartbeat's JWT; on success call `heartbeatVerified` and answer it.
        case heartbeat(streamID: UInt32, heartbeat: Heartbeat)
        /// A registered delegate made another call (TaskUpdate, TaskResult, StartupScriptReport); the frame's
        /// method says which, and the payload is still encoded.
        case delegateCall(Frame)
        /// The delegate acknowledged the push sent on `streamID`.
        case pushAcknowledged(kind: UInt16, streamID: UInt32)
        /// Refuse one call with this status; the connection stays open.
        case refuseCall(Frame)
        /// Check this admin API key, then call `adminAuthenticated` or `adminAuthenticationRefused`.
        case authenticateAdmin(streamID: UInt32, request: AdminAuthenticate)
        /// Serve this admin call (method 101 and above) and answer on its stream.
        case adminCall(Frame)
        /// Send an ERROR frame on stream 0 with this status, flush, and close.
        case closeWithError(code: StatusCode, message: String)
        /// Close (already drained or already told why).
        case close
    }

    private enum State: Sendable {
        case awaitingHello(deadline: MonotonicInstant)
        case awaitingRegistration(deadline: MonotonicInstant)
        case registering(streamID: UInt32, deadline: MonotonicInstant)
        case registered(delegateID: String, lastHeartbeat: MonotonicInstant)
        case authenticatingAdmin(streamID: UInt32, deadline: MonotonicInstant)
        case admin(idleSince: MonotonicInstant)
        case draining(deadline: MonotonicInstant)
        case closed
    }

    /// The connection's configuration.
    public let configuration: Configuration
    private var state: State
    private var nextPushStreamID: UInt32 = 2

    /// Starts a machine for a connection whose TLS handshake completed at `now`.
    public init(configuration: Configuration, now: MonotonicInstant) {
        self.configuration = configuration
        self.state = .awaitingHello(deadline: now + configuration.helloTimeout)
    }

    /// The delegate id once registered, else nil.
    public var registeredDelegateID: String? {
        if case .registered(let delegateID, _) = self.state { return delegateID }
        return nil
    }

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
        case .admin:
            self.state = .admin(idleSince: now)
            return self.adminFrameReceived(frame)
        case .registering:
            return self.fail(.failedPrecondition, "frame \(frame.type) sent while the registration is in progress")
        case .registered:
            return self.registeredFrameReceived(frame)
        case .draining:
            if frame.type == .request {
                return .refuseCall(Self.errorFrame(for: frame, code: .unavailable, "manager is shutting down"))
            }
            return .none
        case .closed:
            return .none
        }
    }

    /// The layer above accepted the registration: answer it and enter the registered state.
    public mutating func registrationAccepted(
        streamID: UInt32, response: RegisterResponse, now: MonotonicInstant
    ) -> Action {
        guard case .registering(let pending, _) = self.state, pending == streamID else { return .none }
        self.state = .registered(delegateID: response.delegateID, lastHeartbeat: now)
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
        streamID: UInt32, response: AdminAuthenticated, now: MonotonicInstant
    ) -> Action {
        guard case .authenticatingAdmin(let pending, _) = self.state, pending == streamID else { return .none }
        self.state = .admin(idleSince: now)
        let frame = Frame(
            type: .response, method: AdminMethod.authenticate.rawValue, streamID: streamID,
            payload: response.protoBytes())
        return .acceptRegistration(response: frame, maxFrameBytes: self.configuration.maxFrameBytes)
    }

    /// The layer above refused the admin key: tell the peer why and close.
    public mutating func adminAuthenticationRefused(code: StatusCode, message: String) -> Action {
        guard case .authenticatingAdmin = self.state else { return .none }
        return self.fail(code, message)
    }

    /// A heartbeat's JWT checked out: the delegate is alive as of `now`.
    public mutating func heartbeatVerified(now: MonotonicInstant) {
        if case .registered(let delegateID, _) = self.state {
            self.state = .registered(delegateID: delegateID, lastHeartbeat: now)
        }
    }

    /// The connection must end with this status (a heartbeat failed authentication, the frame decoder found
    /// garbage, a newer connection took over): the machine closes, so later frames are ignored.
    public mutating func connectionFailed(code: StatusCode, message: String) -> Action {
        self.fail(code, message)
    }

    /// Periodic check of deadlines; the I/O layer calls it about once a second.
    public mutating func tick(now: MonotonicInstant) -> Action {
        switch self.state {
        case .awaitingHello(let deadline) where now >= deadline:
            return self.fail(.deadlineExceeded, "no HELLO within \(self.configuration.helloTimeout)")
        case .awaitingRegistration(let deadline) where now >= deadline,
            .registering(_, let deadline) where now >= deadline,
            .authenticatingAdmin(_, let deadline) where now >= deadline:
            return self.fail(.deadlineExceeded, "no registration within \(self.configuration.registrationTimeout)")
        case .registered(_, let lastHeartbeat) where now >= lastHeartbeat + self.configuration.heartbeatGrace:
            return self.fail(.deadlineExceeded, "no heartbeat for \(self.configuration.heartbeatGrace)")
        case .admin(let idleSince) where now >= idleSince + self.configuration.adminIdleTimeout:
            return self.fail(.deadlineExceeded, "admin connection idle for \(self.configuration.adminIdleTimeout)")
        case .draining(let deadline) where now >= deadline:
            self.state = .closed
            return .close
        default:
            return .none
        }
    }

    /// The manager is shutting down: send GOAWAY and refuse new calls until `drainDeadline`.
    public mutating func startDraining(reason: String, reconnectAfter: Duration, now: MonotonicInstant,
                                       drainTimeout: Duration = .seconds(5)) -> Action {
        switch self.state {
        case .closed, .draining:
            return .none
        default:
            self.state = .draining(deadline: now + drainTimeout)
            var goAway = GoAway()
            goAway.reason = reason
            goAway.reconnectAfterMs = reconnectAfter.wireMilliseconds
            return .send(Frame(type: .goAway, payload: goAway.protoBytes()))
        }
    }

    /// Allocates the stream id for a server push (even numbers, Proto/FRAMING.md §2).
    public mutating func allocatePushStreamID() -> UInt32 {
        let id = self.nextPushStreamID
        self.nextPushStreamID = self.nextPushStreamID &+ 2
        if self.nextPushStreamID == 0 { self.nextPushStreamID = 2 }
        return id
    }

    /// The peer or the I/O layer closed the connection.
    public mutating func connectionClosed() {
        self.state = .closed
    }

    // MARK: - Per-state handling

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
        self.state = .registering(streamID: frame.streamID, deadline: deadline)
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

    private mutating func adminFrameReceived(_ frame: Frame) -> Action {
        switch frame.type {
        case .request where frame.method > AdminMethod.authenticate.rawValue:
            return .adminCall(frame)
        case .request:
            return .refuseCall(
                Self.errorFrame(for: frame, code: .failedPrecondition, "method \(frame.method) is not an admin call"))
        default:
            return self.fail(.failedPrecondition, "unexpected \(frame.type) frame on an admin connection")
        }
    }

    private mutating func registeredFrameReceived(_ frame: Frame) -> Action {
        switch frame.type {
        case .request where frame.method == CallMethod.heartbeat.rawValue:
            do {
                return .heartbeat(streamID: frame.streamID, heartbeat: try Heartbeat(protoBytes: frame.payload))
            } catch {
                return self.fail(error.status, "Heartbeat is malformed: \(error)")
            }
        case .request where frame.method == CallMethod.taskUpdate.rawValue
            || frame.method == CallMethod.taskResult.rawValue
            || frame.method == CallMethod.startupScriptReport.rawValue:
            return .delegateCall(frame)
        case .request:
            return .refuseCall(
                Self.errorFrame(for: frame, code: .unimplemented, "method \(frame.method) is not served here"))
        case .pushAck:
            return .pushAcknowledged(kind: frame.method, streamID: frame.streamID)
        default:
            return self.fail(.failedPrecondition, "unexpected \(frame.type) frame after registration")
        }
    }

    private mutating func fail(_ code: StatusCode, _ message: String) -> Action {
        if case .closed = self.state { return .none }
        self.state = .closed
        return .closeWithError(code: code, message: message)
    }

    /// An ERROR frame answering `request` with `code` and `message`.
    public static func errorFrame(for request: Frame, code: StatusCode, _ message: String) -> Frame {
        var status = Status()
        status.code = code
        status.message = message
        return Frame(type: .error, method: request.method, streamID: request.streamID, payload: status.protoBytes())
    }
}
