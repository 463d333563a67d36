import LegateWire

/// Who is on the other end of a registered delegate connection.
public struct DelegateIdentity: Sendable, Equatable {
    /// The manager's id of the delegate.
    public var delegateID: String
    /// Its account.
    public var accountID: String
    /// The token its JWTs must name as `kid` (changes when a TOKEN_ROTATED push is acknowledged).
    public var tokenID: String
    /// Its instance id (JWT `iss`).
    public var instanceID: String

    /// Creates an identity.
    public init(delegateID: String, accountID: String, tokenID: String, instanceID: String) {
        self.delegateID = delegateID
        self.accountID = accountID
        self.tokenID = tokenID
        self.instanceID = instanceID
    }
}

/// What a server push carries, as far as its acknowledgement needs to know.
public enum TrackedPush: Sendable, Equatable {
    /// SELF_DESTRUCT: once acknowledged (or unacknowledged past the deadline) the connection ends with
    /// `code` and `reason` on stream 0.
    case selfDestruct(reason: String, code: StatusCode)
    /// APPROVAL_DECISION; nothing waits for its acknowledgement.
    case approvalDecision(approved: Bool)
    /// TOKEN_ROTATED: on acknowledgement the delegate's JWTs carry `newTokenID`.
    case tokenRotated(oldTokenID: String, newTokenID: String)
    /// TASK_ASSIGN of one attempt; its acknowledgement is what the lease waits for.
    case taskAssign(taskID: String, attempt: UInt32)
    /// TASK_CANCEL of one attempt.
    case taskCancel(taskID: String, attempt: UInt32)
    /// RING_KEY_SHARE or RING_ROTATE (`kind`) for a ring; the answer is a call, not the acknowledgement.
    case ringWork(kind: UInt16, ringID: String)

    /// The push kind on the wire.
    public var kind: UInt16 {
        switch self {
        case .selfDestruct: return PushKind.selfDestruct.rawValue
        case .approvalDecision: return PushKind.approvalDecision.rawValue
        case .tokenRotated: return PushKind.tokenRotated.rawValue
        case .taskAssign: return PushKind.taskAssign.rawValue
        case .taskCancel: return PushKind.taskCancel.rawValue
        case .ringWork(let kind, _): return kind
        }
    }
}

/// The state of a registered delegate connection.
public struct RegisteredSession: Sendable, Equatable {
    /// Who registered.
    public var identity: DelegateIdentity
    /// Registered as pending and not approved yet: heartbeat acks say PENDING.
    public var isPending: Bool
    /// Tasks the delegate said it can run at once (RegisterRequest.capacity, 1...10,000).
    public var capacity: Int
    /// Last verified heartbeat (monotonic, for the grace).
    var lastHeartbeat: MonotonicInstant
    /// Heartbeats refused in a row (bad, expired or unknown JWT); reset by a verified one.
    var heartbeatFailures = 0
    /// Pushes awaiting their PUSH_ACK, by stream id.
    var pushes: [UInt32: TrackedPush] = [:]
    /// The SELF_DESTRUCT push in flight, and when the connection closes without its acknowledgement.
    var selfDestruct: (streamID: UInt32, deadline: MonotonicInstant)?
    /// Set by GOAWAY: the connection closes then.
    var drainDeadline: MonotonicInstant?

    /// The stream of the SELF_DESTRUCT push awaiting its acknowledgement, if one was sent.
    public var selfDestructStreamID: UInt32? { self.selfDestruct?.streamID }

    /// Equal when the identity, approval state, capacity and outstanding pushes are.
    public static func == (lhs: RegisteredSession, rhs: RegisteredSession) -> Bool {
        lhs.identity == rhs.identity && lhs.isPending == rhs.isPending && lhs.capacity == rhs.capacity
            && lhs.lastHeartbeat == rhs.lastHeartbeat && lhs.heartbeatFailures == rhs.heartbeatFailures
            && lhs.pushes == rhs.pushes && lhs.selfDestruct?.streamID == rhs.selfDestruct?.streamID
            && lhs.drainDeadline == rhs.drainDeadline
    }
}

extension ServerConnectionMachine {
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
        /// Heartbeats refused in a row (bad, expired, unknown-`kid` JWT) after which the connection closes.
        /// Default 3: enough for a delegate whose clock was corrected to re-mint and recover.
        public var maxConsecutiveHeartbeatFailures: Int = 3
        /// How long a SELF_DESTRUCT waits for its PUSH_ACK before the connection is closed anyway. Default 2 s.
        public var selfDestructTimeout: Duration = .seconds(2)
        /// Pushes a delegate may leave unacknowledged at once; a delegate over it is closed with
        /// RESOURCE_EXHAUSTED (it does not PUSH_ACK, so it cannot be told anything). Default 4096.
        public var maxOutstandingPushes: Int = 4096
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
        /// Send the AdminAuthenticate response and raise the decoder's frame limit to `maxFrameBytes`.
        case acceptAdmin(response: Frame, maxFrameBytes: Int)
        /// Verify this heartbeat's JWT against `identity`; then call `heartbeatVerified` and answer it (`isPending`
        /// says which state the ack names), or `heartbeatRefused`. The action carries what the answer needs, so
        /// the heartbeat path reads nothing else from the machine.
        case heartbeat(streamID: UInt32, heartbeat: Heartbeat, identity: DelegateIdentity, isPending: Bool)
        /// A TaskUpdate call of the registered delegate.
        case taskUpdate(streamID: UInt32, update: TaskUpdate)
        /// A TaskResult call of the registered delegate.
        case taskResult(streamID: UInt32, result: TaskResult)
        /// A StartupScriptReport call of the registered delegate.
        case startupScriptReport(streamID: UInt32, report: StartupScriptReport)
        /// The registered delegate is stopping: re-queue the attempts it holds at once, then answer CallAck.
        case leave(streamID: UInt32, request: Leave)
        /// The registered delegate reports opening (or refusing) a task's secret: audit it, then answer CallAck.
        case secretOpened(streamID: UInt32, report: SecretOpened)
        /// A member answers RING_KEY_SHARE (`shared`) or RING_ROTATE (`rotated`): check, store, answer CallAck.
        case ringWork(streamID: UInt32, shared: RingKeyShared?, rotated: RingRotated?)
        /// The delegate acknowledged SELF_DESTRUCT: report it, send ERROR `code`/`message` on stream 0, close.
        case selfDestructAcknowledged(streamID: UInt32, code: StatusCode, message: String)
        /// The delegate acknowledged TOKEN_ROTATED; its identity now names `newTokenID`: move it in the registry.
        case tokenRotationAcknowledged(streamID: UInt32, oldTokenID: String, newTokenID: String)
        /// The delegate acknowledged TASK_ASSIGN: tell the task service (the lease is satisfied).
        case taskAssignAcknowledged(taskID: String, attempt: UInt32)
        /// The delegate acknowledged TASK_CANCEL of this attempt.
        case taskCancelAcknowledged(taskID: String, attempt: UInt32)
        /// The delegate acknowledged a push that nothing waits for (an approval decision, or a stream that
        /// carries no tracked push).
        case pushAcknowledged(kind: UInt16, streamID: UInt32)
        /// Refuse one call with this status; the connection stays open.
        case refuseCall(Frame)
        /// Check this admin API key, then call `adminAuthenticated` or `adminAuthenticationRefused`.
        case authenticateAdmin(streamID: UInt32, request: AdminAuthenticate)
        /// Serve this admin call (method 101 and above) for `session` and answer on its stream.
        case adminCall(Frame, session: AdminSession)
        /// Send an ERROR frame on stream 0 with this status, flush, and close.
        case closeWithError(code: StatusCode, message: String)
        /// Close (already drained or already told why).
        case close
    }
}
