import LegateNet
import LegateTestSupport
import LegateWire
import Synchronization

/// A scripted manager on 127.0.0.1 port 0 (a `ProtocolPeerServer`): answers HELLO, Register and Heartbeat, records
/// every frame the delegate sends, pushes what a test tells it to, and answers TaskUpdate/TaskResult with CallAck
/// or an error.
final class FakeManager: Sendable {
    /// Every frame received, from every connection, in order.
    let frames = Recorder<Frame>()
    /// Connections accepted so far.
    let connections = Recorder<UInt64>()
    /// When set, TaskResult calls are refused with this code.
    let refuseResultsWith = LockedValue<StatusCode?>(nil)
    /// This many heartbeats are refused with UNAUTHENTICATED on the call (as for a JWT minted on a wrong clock).
    let heartbeatsToRefuse = LockedValue<Int>(0)
    private let server: ProtocolPeerServer

    var group: EventLoopGroup { self.server.group }
    var port: Int { self.server.port }
    var caFile: String { self.server.caFile }

    init() throws {
        let frames = self.frames
        let connections = self.connections
        let refuseResultsWith = self.refuseResultsWith
        let heartbeatsToRefuse = self.heartbeatsToRefuse
        self.server = try ProtocolPeerServer(
            script: { frame in
                frames.append(frame)
                var refuseHeartbeat = false
                if frame.type == .request, frame.method == CallMethod.heartbeat.rawValue {
                    heartbeatsToRefuse.withLock { count in
                        refuseHeartbeat = count > 0
                        count = max(0, count - 1)
                    }
                }
                return Self.answer(
                    frame, refuseResultsWith: refuseResultsWith.value, refuseHeartbeat: refuseHeartbeat)
            },
            onActive: { peer in
                if let id = peer.connectionID { connections.append(id) }
            })
    }

    func stop() {
        self.server.stop()
    }

    /// Pushes `message` as PUSH `kind` on the current connection.
    func push(_ kind: PushKind, _ message: some ProtoMessage) {
        self.server.current?.push(kind, message)
    }

    /// Closes the current connection (the delegate sees it lost).
    func dropConnection() {
        self.server.current?.close()
    }

    /// The decoded REQUEST messages of `method` received so far.
    func requests<M: ProtoMessage>(_ method: CallMethod, as type: M.Type) -> [M] {
        self.frames.all.filter { $0.type == .request && $0.method == method.rawValue }.compactMap {
            try? M(protoBytes: $0.payload)
        }
    }

    /// The manager's side of the script: what it answers to one frame from the delegate.
    private static func answer(_ frame: Frame, refuseResultsWith: StatusCode?, refuseHeartbeat: Bool) -> [Frame] {
        switch (frame.type, CallMethod(rawValue: frame.method)) {
        case (.hello, _):
            var ack = HelloAck()
            ack.protocolVersion = ProtocolVersion.current
            ack.maxFrameBytes = 1 << 20
            ack.heartbeatIntervalMs = 20
            return [Frame(type: .helloAck, payload: ack.protoBytes())]
        case (.request, .register?):
            var response = RegisterResponse()
            response.delegateID = "dlg_fake"
            response.state = .active
            response.heartbeatIntervalMs = 20
            return [Self.response(to: frame, response)]
        case (.request, .heartbeat?) where refuseHeartbeat:
            var status = Status()
            status.code = .unauthenticated
            status.message = "JWT is outside its validity window; check the delegate's clock and re-mint"
            return [Frame(type: .error, method: frame.method, streamID: frame.streamID, payload: status.protoBytes())]
        case (.request, .heartbeat?):
            let beat = (try? Heartbeat(protoBytes: frame.payload)) ?? Heartbeat()
            var ack = HeartbeatAck()
            ack.sequence = beat.sequence
            return [Self.response(to: frame, ack)]
        case (.request, .taskResult?):
            guard let code = refuseResultsWith else { return [Self.response(to: frame, CallAck())] }
            var status = Status()
            status.code = code
            status.message = "attempt is stale"
            return [Frame(type: .error, method: frame.method, streamID: frame.streamID, payload: status.protoBytes())]
        case (.request, .taskUpdate?):
            return [Self.response(to: frame, CallAck())]
        default:
            return []
        }
    }

    private static func response(to request: Frame, _ message: some ProtoMessage) -> Frame {
        Frame(type: .response, method: request.method, streamID: request.streamID, payload: message.protoBytes())
    }
}

/// A value a test changes while the fake manager's script reads it on the loop (a Mutex in a shareable box).
final class LockedValue<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) { self.storage = Mutex(value) }

    /// The value now.
    var value: Value { self.storage.withLock { $0 } }

    /// Changes the value under the lock.
    func withLock(_ body: (inout Value) -> Void) {
        self.storage.withLock { body(&$0) }
    }
}
