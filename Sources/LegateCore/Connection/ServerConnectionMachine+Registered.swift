import LegateWire

// MARK: - The registered state: calls, pushes and their acknowledgements, heartbeat bookkeeping.

extension ServerConnectionMachine {
    /// Mutates the registered session in place (the state's own reference is dropped first, so the session's
    /// dictionary is not copied); nil when not registered.
    @discardableResult
    mutating func withRegistered<R>(_ body: (inout RegisteredSession) -> R) -> R? {
        guard case .registered(var session) = self.state else { return nil }
        self.state = .closed(departed: nil)
        defer { self.state = .registered(session) }
        return body(&session)
    }

    /// A heartbeat's JWT checked out: the delegate is alive as of `now` (monotonic) and `at` (Unix ms).
    public mutating func heartbeatVerified(now: MonotonicInstant, at wallMilliseconds: Int64 = 0) {
        self.withRegistered { session in
            session.lastHeartbeat = now
            session.heartbeatFailures = 0
        }
        self.lastHeartbeatAt = wallMilliseconds
        self.isHeartbeatMarkNew = true
    }

    /// A heartbeat failed authentication (bad, expired or unknown-`kid` JWT, or malformed): ERROR on the call, so a
    /// delegate can re-mint and recover; after `maxConsecutiveHeartbeatFailures` in a row the connection closes.
    public mutating func heartbeatRefused(streamID: UInt32, code: StatusCode, message: String) -> Action {
        guard let failures = self.withRegistered({ session -> Int in
            session.heartbeatFailures += 1
            return session.heartbeatFailures
        })
        else { return .none }
        if failures >= self.configuration.maxConsecutiveHeartbeatFailures {
            return self.fail(code, "\(message) (\(failures) heartbeats refused in a row; reconnect with a fresh JWT)")
        }
        return .refuseCall(
            Self.errorFrame(method: CallMethod.heartbeat.rawValue, streamID: streamID, code: code, message))
    }

    /// The newest verified heartbeat time not yet handed to the registry, once.
    public mutating func takeHeartbeatMark() -> (delegateID: String, at: Int64)? {
        guard self.isHeartbeatMarkNew, let identity = self.registeredIdentity else { return nil }
        self.isHeartbeatMarkNew = false
        return (identity.delegateID, self.lastHeartbeatAt)
    }

    /// An admin decided this pending delegate: approved, heartbeat acks say ACTIVE from now on.
    public mutating func approvalDecided(approved: Bool) {
        if approved { self.withRegistered { $0.isPending = false } }
    }

    /// Allocates the stream of a push to the registered delegate and remembers what it carries; nil when nothing
    /// may be pushed (not registered, closed, already told to self-destruct, or too many pushes unacknowledged:
    /// the next `tick` closes such a connection). A SELF_DESTRUCT arms its deadline.
    public mutating func allocatePush(_ push: TrackedPush, now: MonotonicInstant) -> UInt32? {
        guard let session = self.registered, session.selfDestruct == nil,
            session.pushes.count < self.configuration.maxOutstandingPushes
        else { return nil }
        let streamID = self.allocatePushStreamID()
        let timeout = self.configuration.selfDestructTimeout
        self.withRegistered { session in
            session.pushes[streamID] = push
            if case .selfDestruct = push { session.selfDestruct = (streamID, now + timeout) }
        }
        return streamID
    }

    /// True while a TOKEN_ROTATED push awaits its acknowledgement.
    public var isRotationPending: Bool {
        self.registered?.pushes.values.contains { if case .tokenRotated = $0 { true } else { false } } ?? false
    }

    /// The SELF_DESTRUCT deadline passed (as the revoke's fan-out saw it): close with its status now.
    public mutating func selfDestructTimedOut() -> Action {
        guard let session = self.registered, let pending = session.selfDestruct,
            case .selfDestruct(let reason, let code) = session.pushes[pending.streamID]
        else { return .none }
        return self.fail(code, reason)
    }

    mutating func registeredTick(_ session: RegisteredSession, now: MonotonicInstant) -> Action {
        if let pending = session.selfDestruct, now >= pending.deadline {
            return self.selfDestructTimedOut()
        }
        if session.pushes.count >= self.configuration.maxOutstandingPushes {
            return self.fail(
                .resourceExhausted,
                "\(session.pushes.count) pushes unacknowledged; a delegate must send PUSH_ACK for every push")
        }
        if let drainDeadline = session.drainDeadline {
            guard now >= drainDeadline else { return .none }
            self.enterClosed()
            return .close
        }
        if now >= session.lastHeartbeat + self.configuration.heartbeatGrace {
            return self.fail(.deadlineExceeded, "no heartbeat for \(self.configuration.heartbeatGrace)")
        }
        return .none
    }

    mutating func registeredFrameReceived(_ frame: Frame, session: RegisteredSession) -> Action {
        switch frame.type {
        case .request:
            return self.registeredCallReceived(frame, session: session)
        case .pushAck:
            return self.pushAcknowledgementReceived(frame)
        default:
            return self.fail(.failedPrecondition, "unexpected \(frame.type) frame after registration")
        }
    }

    private mutating func registeredCallReceived(_ frame: Frame, session: RegisteredSession) -> Action {
        if let pending = session.selfDestruct, case .selfDestruct(let reason, let code) = session.pushes[pending.streamID]
        {
            return .refuseCall(Self.errorFrame(for: frame, code: code, reason))
        }
        let method = CallMethod(rawValue: frame.method)
        if session.drainDeadline != nil, method != .taskUpdate, method != .taskResult {
            // Draining: only reports of running tasks are still taken, so finished work is not lost.
            return .refuseCall(Self.errorFrame(for: frame, code: .unavailable, "manager is shutting down"))
        }
        do throws(WireError) {
            switch method {
            case .heartbeat:
                return .heartbeat(
                    streamID: frame.streamID, heartbeat: try Heartbeat(protoBytes: frame.payload),
                    identity: session.identity, isPending: session.isPending)
            case .taskUpdate:
                return .taskUpdate(streamID: frame.streamID, update: try TaskUpdate(protoBytes: frame.payload))
            case .taskResult:
                return .taskResult(streamID: frame.streamID, result: try TaskResult(protoBytes: frame.payload))
            case .startupScriptReport:
                return .startupScriptReport(
                    streamID: frame.streamID, report: try StartupScriptReport(protoBytes: frame.payload))
            case .leave:
                return .leave(streamID: frame.streamID, request: try Leave(protoBytes: frame.payload))
            case .secretOpened:
                return .secretOpened(streamID: frame.streamID, report: try SecretOpened(protoBytes: frame.payload))
            case .ringKeyShared:
                return .ringWork(
                    streamID: frame.streamID, shared: try RingKeyShared(protoBytes: frame.payload), rotated: nil)
            case .ringRotated:
                return .ringWork(
                    streamID: frame.streamID, shared: nil, rotated: try RingRotated(protoBytes: frame.payload))
            case .register, nil:
                return .refuseCall(
                    Self.errorFrame(for: frame, code: .unimplemented, "method \(frame.method) is not served here"))
            }
        } catch {
            let message = "\(method.map { "\($0)" } ?? "call") message is malformed: \(error)"
            if method == .heartbeat {
                return self.heartbeatRefused(streamID: frame.streamID, code: error.status, message: message)
            }
            return .refuseCall(Self.errorFrame(for: frame, code: error.status, message))
        }
    }

    private mutating func pushAcknowledgementReceived(_ frame: Frame) -> Action {
        guard let push = self.registered?.pushes[frame.streamID] else {
            return .pushAcknowledged(kind: frame.method, streamID: frame.streamID)
        }
        guard push.kind == frame.method else {
            return self.fail(
                .invalidArgument,
                "PUSH_ACK of kind \(frame.method) on stream \(frame.streamID), which carried kind \(push.kind)")
        }
        self.withRegistered { session in
            session.pushes[frame.streamID] = nil
            if case .tokenRotated(_, let newTokenID) = push { session.identity.tokenID = newTokenID }
        }
        switch push {
        case .selfDestruct(let reason, let code):
            self.enterClosed()
            return .selfDestructAcknowledged(streamID: frame.streamID, code: code, message: reason)
        case .tokenRotated(let oldTokenID, let newTokenID):
            return .tokenRotationAcknowledged(streamID: frame.streamID, oldTokenID: oldTokenID, newTokenID: newTokenID)
        case .taskAssign(let taskID, let attempt):
            return .taskAssignAcknowledged(taskID: taskID, attempt: attempt)
        case .taskCancel(let taskID, let attempt):
            return .taskCancelAcknowledged(taskID: taskID, attempt: attempt)
        case .approvalDecision, .ringWork:
            return .pushAcknowledged(kind: frame.method, streamID: frame.streamID)
        }
    }
}
