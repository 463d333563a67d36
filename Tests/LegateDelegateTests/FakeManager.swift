import Foundation
import LegateNet
import LegateWire
import Synchronization

/// A scripted manager on 127.0.0.1 port 0: answers HELLO, Register and Heartbeat, records every frame the
/// delegate sends, pushes what a test tells it to, and answers TaskUpdate/TaskResult with CallAck or an error.
final class FakeManager: Sendable {
    /// Every frame received, from every connection, in order.
    let frames = Recorder<Frame>()
    /// Connections accepted so far.
    let connections = Recorder<UInt64>()
    /// When set, TaskResult calls are refused with this code.
    let refuseResultsWith = Mutex<StatusCode?>(nil)
    /// This many heartbeats are refused with UNAUTHENTICATED on the call (as for a JWT minted on a wrong clock).
    let heartbeatsToRefuse = Mutex<Int>(0)
    private let current = Mutex<Connection?>(nil)
    private let nextPushStreamID = Mutex<UInt32>(2)
    private let listener: Listener
    let group: EventLoopGroup
    let port: Int
    let caFile: String

    init() throws {
        let directory = NSTemporaryDirectory() + "legate-delegate-\(UUID().uuidString)"
        let files = try DevCertificates.generate(in: directory)
        let tls = try TLSServerContext(
            TLSServerConfiguration(certificateChainFile: files.certificateFile, privateKeyFile: files.privateKeyFile))
        self.caFile = files.caFile
        self.group = EventLoopGroup(loopCount: 1)
        let box = Mutex<FakeManager?>(nil)
        self.listener = Listener(
            host: "127.0.0.1", port: 0, tls: tls, group: self.group, limits: .defaults, maxConnections: 16
        ) { _ in FakeManagerConnection(manager: box.withLock { $0 }) }
        self.port = try self.listener.start()
        box.withLock { $0 = self }
    }

    func stop() {
        self.listener.stop()
        self.dropConnection()
    }

    /// Pushes `message` as PUSH `kind` on the current connection.
    func push(_ kind: PushKind, _ message: some ProtoMessage) {
        guard let connection = self.current.withLock({ $0 }) else { return }
        let streamID = self.nextPushStreamID.withLock { id -> UInt32 in
            defer { id += 2 }
            return id
        }
        var bytes: [UInt8] = []
        FrameEncoder.encode(.push, method: kind.rawValue, streamID: streamID, message: message, into: &bytes)
        let frameBytes = bytes
        connection.loop.execute { connection.write(frameBytes) }
    }

    /// Closes the current connection (the delegate sees it lost).
    func dropConnection() {
        guard let connection = self.current.withLock({ $0 }) else { return }
        connection.loop.execute { connection.close(flushFirst: false) }
    }

    /// The decoded REQUEST messages of `method` received so far.
    func requests<M: ProtoMessage>(_ method: CallMethod, as type: M.Type) -> [M] {
        self.frames.all.filter { $0.type == .request && $0.method == method.rawValue }.compactMap {
            try? M(protoBytes: $0.payload)
        }
    }

    fileprivate func connected(_ connection: Connection) {
        self.current.withLock { $0 = connection }
        self.connections.append(connection.id)
    }

    fileprivate func answer(_ frame: Frame) -> [UInt8] {
        var bytes: [UInt8] = []
        switch (frame.type, CallMethod(rawValue: frame.method)) {
        case (.hello, _):
            var ack = HelloAck()
            ack.protocolVersion = 1
            ack.maxFrameBytes = 1 << 20
            ack.heartbeatIntervalMs = 20
            FrameEncoder.encode(.helloAck, method: 0, streamID: 0, message: ack, into: &bytes)
        case (.request, .register?):
            var response = RegisterResponse()
            response.delegateID = "dlg_fake"
            response.state = .active
            response.heartbeatIntervalMs = 20
            self.respond(frame, response, into: &bytes)
        case (.request, .heartbeat?) where self.heartbeatsToRefuse.withLock({ count in
            defer { count = max(0, count - 1) }
            return count > 0
        }):
            var status = Status()
            status.code = .unauthenticated
            status.message = "JWT is outside its validity window; check the delegate's clock and re-mint"
            FrameEncoder.encode(.error, method: frame.method, streamID: frame.streamID, message: status, into: &bytes)
        case (.request, .heartbeat?):
            let beat = (try? Heartbeat(protoBytes: frame.payload)) ?? Heartbeat()
            var ack = HeartbeatAck()
            ack.sequence = beat.sequence
            self.respond(frame, ack, into: &bytes)
        case (.request, .taskResult?):
            if let code = self.refuseResultsWith.withLock({ $0 }) {
                var status = Status()
                status.code = code
                status.message = "attempt is stale"
                FrameEncoder.encode(
                    .error, method: frame.method, streamID: frame.streamID, message: status, into: &bytes)
            } else {
                self.respond(frame, CallAck(), into: &bytes)
            }
        case (.request, .taskUpdate?):
            self.respond(frame, CallAck(), into: &bytes)
        default:
            break
        }
        return bytes
    }

    private func respond(_ request: Frame, _ message: some ProtoMessage, into bytes: inout [UInt8]) {
        FrameEncoder.encode(
            .response, method: request.method, streamID: request.streamID, message: message, into: &bytes)
    }
}

/// One accepted connection of the fake manager.
///
/// `@unchecked Sendable`: `decoder` is touched only on the connection's loop (every handler call runs there).
private final class FakeManagerConnection: ConnectionHandler, @unchecked Sendable {
    private let manager: FakeManager?
    private var decoder = FrameDecoder(maxFrameBytes: 1 << 20)

    init(manager: FakeManager?) { self.manager = manager }

    func connectionActive(_ connection: Connection) {
        self.manager?.connected(connection)
    }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        self.decoder.append(bytes)
        while let frame = try? self.decoder.nextFrame() {
            self.manager?.frames.append(frame)
            if let answer = self.manager?.answer(frame), !answer.isEmpty { connection.write(answer) }
        }
    }

    func connectionWritabilityChanged(_ connection: Connection) {}

    func connectionClosed(_ connection: Connection, error: NetError?) {}
}
