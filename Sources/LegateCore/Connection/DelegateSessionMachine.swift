import LegateWire

/// The delegate's side of one connection to the manager, as a pure state machine (Proto/FRAMING.md §4).
///
/// It sequences HELLO, registration and heartbeats and interprets what the manager pushes. Minting JWTs,
/// timers and sockets belong to the layer above, which performs the returned actions.
public struct DelegateSessionMachine: Sendable {
    /// What the client must do next.
    public enum Action: Equatable, Sendable {
        /// Nothing to do.
        case none
        /// Send this frame.
        case send(Frame)
        /// HELLO_ACK arrived: send a Register call on `streamID` (with a freshly minted JWT); the frame limit
        /// of the connection is now `maxFrameBytes`.
        case sendRegistration(streamID: UInt32, maxFrameBytes: Int)
        /// Registration succeeded; start beating every `heartbeatInterval`.
        case registered(RegisterResponse, heartbeatInterval: Duration)
        /// Time to send heartbeat number `sequence` on `streamID`.
        case sendHeartbeat(streamID: UInt32, sequence: UInt64)
        /// The manager answered a heartbeat; `roundTrip` is measured from when it was sent.
        case heartbeatAcknowledged(HeartbeatAck, roundTrip: Duration)
        /// The manager told us to stop for good: send `acknowledgement`, then stop and report.
        case selfDestruct(SelfDestruct, acknowledgement: Frame)
        /// The token was rotated: switch to `message.tokenValue`, re-mint the JWT, then send the acknowledgement.
        case tokenRotated(TokenRotated, acknowledgement: Frame)
        /// An admin approved or rejected this pending delegate; send `acknowledgement`.
        case approvalDecided(ApprovalDecision, acknowledgement: Frame)
        /// A task push (TASK_ASSIGN or TASK_CANCEL) or key ring work (RING_KEY_SHARE, RING_ROTATE), payload still
        /// encoded; the task layer decides when to send `acknowledgement`.
        case taskPush(Frame, acknowledgement: Frame)
        /// The manager refused a heartbeat's JWT (UNAUTHENTICATED on the call; the connection stays): drop the cached
        /// JWT so the next beat carries a freshly minted one, and beat again at once when `retryNow`.
        case heartbeatRefused(message: String, retryNow: Bool)
        /// The manager answered (RESPONSE or ERROR) a call made with `allocateCallStreamID()`.
        case callAnswered(Frame)
        /// The manager is going away: close and reconnect after (at least) `reconnectAfter`.
        case reconnectLater(reason: String, reconnectAfter: Duration)
        /// The manager refused us for a reason a retry will not fix: stop and report.
        case stop(code: StatusCode, message: String)
        /// The connection failed for a reason a retry may fix: close and back off.
        case retry(code: StatusCode, message: String)
    }

    private enum State: Sendable {
        case awaitingHelloAck
        case registering(streamID: UInt32)
        case registered(delegateID: String, interval: Duration)
        case finished
    }

    private var state: State = .awaitingHelloAck
    private var nextStreamID: UInt32 = 1
    private var sequence: UInt64 = 0
    private var inFlightHeartbeat: (streamID: UInt32, sentAt: MonotonicInstant)?
    /// Heartbeats refused in a row; only the first of a run is retried at once, so a delegate whose clock is
    /// still wrong does not spin (the manager closes after a few).
    private var heartbeatRefusals = 0

    /// Creates a machine for a connection whose TLS handshake just completed.
    public init() {}

    /// The HELLO frame to send first.
    public func helloFrame(maxFrameBytes: Int, agent: String) -> Frame {
        var hello = Hello()
        hello.protocolVersion = ProtocolVersion.current
        hello.maxFrameBytes = UInt32(clamping: maxFrameBytes)
        hello.agent = agent
        return Frame(type: .hello, payload: hello.protoBytes())
    }

    /// True while registered with the manager.
    public var isRegistered: Bool {
        if case .registered = self.state { return true }
        return false
    }

    /// A frame arrived from the manager.
    public mutating func frameReceived(_ frame: Frame, now: MonotonicInstant) -> Action {
        switch frame.type {
        case .ping:
            return .send(Frame(type: .pong, payload: frame.payload))
        case .pong:
            return .none
        case .goAway:
            let goAway = (try? GoAway(protoBytes: frame.payload)) ?? GoAway()
            self.state = .finished
            return .reconnectLater(
                reason: goAway.reason.isEmpty ? "manager going away" : goAway.reason,
                reconnectAfter: .milliseconds(Int64(goAway.reconnectAfterMs)))
        case .error where frame.streamID == 0:
            return self.connectionError(frame)
        case .push:
            return self.pushReceived(frame)
        default:
            break
        }
        switch self.state {
        case .awaitingHelloAck:
            return self.helloAckReceived(frame)
        case .registering(let streamID):
            return self.registrationAnswered(frame, streamID: streamID)
        case .registered:
            return self.heartbeatAnswered(frame, now: now)
        case .finished:
            return .none
        }
    }

    /// The heartbeat timer fired: beat unless the previous beat is still unanswered.
    public mutating func heartbeatDue(now: MonotonicInstant) -> Action {
        guard case .registered = self.state, self.inFlightHeartbeat == nil else { return .none }
        let streamID = self.allocateStreamID()
        self.sequence += 1
        self.inFlightHeartbeat = (streamID, now)
        return .sendHeartbeat(streamID: streamID, sequence: self.sequence)
    }

    /// A stream id for a call of the layer above (TaskUpdate, TaskResult...); nil unless registered.
    public mutating func allocateCallStreamID() -> UInt32? {
        guard case .registered = self.state else { return nil }
        return self.allocateStreamID()
    }

    /// The connection closed; the machine is finished.
    public mutating func connectionClosed() {
        self.state = .finished
    }

    // MARK: - Per-state handling

    private mutating func helloAckReceived(_ frame: Frame) -> Action {
        guard frame.type == .helloAck else {
            return self.finish(.retry(code: .failedPrecondition, message: "expected HELLO_ACK, got \(frame.type)"))
        }
        let ack: HelloAck
        do {
            ack = try HelloAck(protoBytes: frame.payload)
        } catch {
            return self.finish(.retry(code: error.status, message: "HELLO_ACK is malformed: \(error)"))
        }
        guard ack.protocolVersion == ProtocolVersion.current else {
            let message = "manager speaks protocol \(ack.protocolVersion), not \(ProtocolVersion.current)"
            return self.finish(.stop(code: .failedPrecondition, message: message))
        }
        let streamID = self.allocateStreamID()
        self.state = .registering(streamID: streamID)
        let limit = ack.maxFrameBytes == 0 ? FrameLimits.defaultMaxFrameBytes : Int(ack.maxFrameBytes)
        return .sendRegistration(streamID: streamID, maxFrameBytes: min(limit, FrameLimits.maxFrameBytesCeiling))
    }

    private mutating func registrationAnswered(_ frame: Frame, streamID: UInt32) -> Action {
        guard frame.streamID == streamID else {
            return self.finish(.retry(code: .internal, message: "answer on unknown stream \(frame.streamID)"))
        }
        if frame.type == .error {
            return self.callError(frame, what: "registration")
        }
        guard frame.type == .response, let response = try? RegisterResponse(protoBytes: frame.payload) else {
            return self.finish(.retry(code: .internal, message: "registration answer is malformed"))
        }
        let milliseconds = max(Int64(response.heartbeatIntervalMs), 10)
        let interval = Duration.milliseconds(milliseconds)
        self.state = .registered(delegateID: response.delegateID, interval: interval)
        return .registered(response, heartbeatInterval: interval)
    }

    private mutating func heartbeatAnswered(_ frame: Frame, now: MonotonicInstant) -> Action {
        guard let inFlight = self.inFlightHeartbeat, inFlight.streamID == frame.streamID else {
            guard frame.type == .response || frame.type == .error else {
                return self.finish(.retry(code: .failedPrecondition, message: "unexpected \(frame.type) frame"))
            }
            return .callAnswered(frame)  // the layer above matches it to its call
        }
        self.inFlightHeartbeat = nil
        if frame.type == .error {
            let status = (try? Status(protoBytes: frame.payload)) ?? Status()
            if status.code == .unauthenticated {
                self.heartbeatRefusals += 1
                return .heartbeatRefused(
                    message: "heartbeat refused: \(status.message)", retryNow: self.heartbeatRefusals == 1)
            }
            return self.callError(frame, what: "heartbeat")
        }
        self.heartbeatRefusals = 0
        guard frame.type == .response, let ack = try? HeartbeatAck(protoBytes: frame.payload) else {
            return self.finish(.retry(code: .internal, message: "heartbeat answer is malformed"))
        }
        return .heartbeatAcknowledged(ack, roundTrip: now - inFlight.sentAt)
    }

    private mutating func pushReceived(_ frame: Frame) -> Action {
        var ack = PushAck()
        ack.kind = UInt32(frame.method)
        let acknowledgement = Frame(
            type: .pushAck, method: frame.method, streamID: frame.streamID, payload: ack.protoBytes())
        switch PushKind(rawValue: frame.method) {
        case .tokenRotated:
            guard let message = try? TokenRotated(protoBytes: frame.payload), !message.tokenValue.isEmpty else {
                return .none  // unusable: keep the current token; no PUSH_ACK, so the manager sees no switch
            }
            return .tokenRotated(message, acknowledgement: acknowledgement)
        case .selfDestruct:
            let message = (try? SelfDestruct(protoBytes: frame.payload)) ?? SelfDestruct()
            self.state = .finished
            return .selfDestruct(message, acknowledgement: acknowledgement)
        case .approvalDecision:
            let decision = (try? ApprovalDecision(protoBytes: frame.payload)) ?? ApprovalDecision()
            return .approvalDecided(decision, acknowledgement: acknowledgement)
        case .taskAssign, .taskCancel, .ringKeyShare, .ringRotate:
            return .taskPush(frame, acknowledgement: acknowledgement)
        case nil:
            return .send(acknowledgement)  // a push kind from a newer manager: acknowledge, ignore
        }
    }

    private mutating func connectionError(_ frame: Frame) -> Action {
        let status = (try? Status(protoBytes: frame.payload)) ?? Status()
        return self.finish(Self.classify(code: status.code, message: status.message))
    }

    private mutating func callError(_ frame: Frame, what: String) -> Action {
        let status = (try? Status(protoBytes: frame.payload)) ?? Status()
        return self.finish(Self.classify(code: status.code, message: "\(what) refused: \(status.message)"))
    }

    /// Auth and configuration errors stop the delegate; anything else is worth a retry.
    static func classify(code: StatusCode, message: String) -> Action {
        switch code {
        case .unauthenticated, .permissionDenied, .invalidArgument, .failedPrecondition, .notFound:
            return .stop(code: code, message: message)
        default:
            return .retry(code: code, message: message)
        }
    }

    private mutating func finish(_ action: Action) -> Action {
        self.state = .finished
        return action
    }

    private mutating func allocateStreamID() -> UInt32 {
        let id = self.nextStreamID
        self.nextStreamID = self.nextStreamID &+ 2
        if self.nextStreamID == 0 { self.nextStreamID = 1 }
        return id
    }
}
