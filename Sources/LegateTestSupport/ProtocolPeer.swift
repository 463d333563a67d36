import LegateNet
import LegateWire
import Synchronization

/// One scripted Legate protocol peer, at either end of a TLS connection: it records every frame it receives,
/// answers each with the frames its script returns, and sends, pushes or closes when a test says so. As a client
/// (`connect`) it drives a real manager frame by frame; behind a `ProtocolPeerServer` it plays a manager.
///
/// `@unchecked Sendable`: `decoder` is touched only on the connection's loop (every handler call runs there);
/// `connection` and the push stream ids are behind Mutexes; the mailboxes are thread-safe.
public final class ProtocolPeer: ConnectionHandler, @unchecked Sendable {
    /// What the peer answers to one received frame (often nothing); runs on the connection's loop.
    public typealias Script = @Sendable (Frame) -> [Frame]

    /// Frames received, in order; tests take them out with `next` or `first(where:)`.
    public let frames = Mailbox<Frame>()
    /// Set once when the connection closes (the error's description, or "closed").
    public let closed = Mailbox<String>()
    private let script: Script
    private let onActive: (@Sendable (ProtocolPeer) -> Void)?
    private var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxFrameBytesCeiling)
    private let connection = Mutex<Connection?>(nil)
    private let nextPushStreamID = Mutex<UInt32>(2)
    private let ready = Mailbox<Bool>()

    /// A peer that answers with `script` and calls `onActive` once TLS is up.
    public init(script: @escaping Script = { _ in [] }, onActive: (@Sendable (ProtocolPeer) -> Void)? = nil) {
        self.script = script
        self.onActive = onActive
    }

    /// Connects over TLS to `port` on `host`, trusting `caFile`; nil if the connection fails within 10 s.
    public static func connect(
        host: String = "127.0.0.1", port: Int, caFile: String, loop: EventLoop, script: @escaping Script = { _ in [] }
    ) -> ProtocolPeer? {
        let peer = ProtocolPeer(script: script)
        guard let tls = try? TLSClientContext(TLSClientConfiguration(caFile: caFile)) else { return nil }
        Connector.connect(
            host: host, port: port, tls: tls, serverName: "localhost", loop: loop, limits: .defaults, handler: peer
        ) { result in
            if case .failure = result { peer.ready.put(false) }
        }
        guard peer.ready.next(timeout: .seconds(10)) == true else { return nil }
        return peer
    }

    /// The connection's id, once TLS is up.
    public var connectionID: UInt64? { self.connection.withLock { $0?.id } }

    /// Sends one frame.
    public func send(_ frame: Frame) {
        var bytes: [UInt8] = []
        FrameEncoder.encode(frame, into: &bytes)
        self.send(bytes: bytes)
    }

    /// Sends raw plaintext bytes (possibly not a valid frame).
    public func send(bytes: [UInt8]) {
        guard let connection = self.connection.withLock({ $0 }) else { return }
        connection.loop.execute { connection.write(bytes) }
    }

    /// Pushes `message` as PUSH `kind` on the next even stream id, as a manager does.
    public func push(_ kind: PushKind, _ message: some ProtoMessage) {
        let streamID = self.nextPushStreamID.withLock { id -> UInt32 in
            defer { id += 2 }
            return id
        }
        self.send(Frame(type: .push, method: kind.rawValue, streamID: streamID, payload: message.protoBytes()))
    }

    /// Sends HELLO (this protocol version) and waits for HELLO_ACK.
    public func hello() -> HelloAck? {
        var hello = Hello()
        hello.protocolVersion = ProtocolVersion.current
        hello.maxFrameBytes = UInt32(FrameLimits.defaultMaxFrameBytes)
        self.send(Frame(type: .hello, payload: hello.protoBytes()))
        guard let frame = self.frames.next(), frame.type == .helloAck else { return nil }
        return try? HelloAck(protoBytes: frame.payload)
    }

    /// Waits for an ERROR frame and returns its status.
    public func nextError(timeout: Duration = .seconds(10)) -> Status? {
        guard let frame = self.frames.first(timeout: timeout, where: { $0.type == .error }) else { return nil }
        return try? Status(protoBytes: frame.payload)
    }

    /// Waits until the other side closes the connection.
    public func waitUntilClosed(timeout: Duration = .seconds(10)) -> Bool {
        self.closed.next(timeout: timeout) != nil
    }

    /// Closes from this side without flushing (the other side sees the connection lost).
    public func close() {
        guard let connection = self.connection.withLock({ $0 }) else { return }
        connection.loop.execute { connection.close(flushFirst: false) }
    }

    // MARK: - ConnectionHandler (on the loop)

    /// TLS is up: the peer is ready.
    public func connectionActive(_ connection: Connection) {
        self.connection.withLock { $0 = connection }
        self.onActive?(self)
        self.ready.put(true)
    }

    /// Decodes what arrived into frames, records each and writes the script's answers in one write.
    public func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        self.decoder.append(bytes)
        var answers: [UInt8] = []
        while let frame = try? self.decoder.nextFrame() {
            self.frames.put(frame)
            for answer in self.script(frame) { FrameEncoder.encode(answer, into: &answers) }
        }
        if !answers.isEmpty { connection.write(answers) }
    }

    /// Not used.
    public func connectionWritabilityChanged(_ connection: Connection) {}

    /// Records the close.
    public func connectionClosed(_ connection: Connection, error: NetError?) {
        self.closed.put(error.map { "\($0)" } ?? "closed")
    }
}

/// A listener on 127.0.0.1, port 0, with a certificate made for this run, whose every accepted connection is a
/// `ProtocolPeer` running the same script: the manager side of delegate tests.
public final class ProtocolPeerServer: Sendable {
    /// The port the OS chose.
    public let port: Int
    /// The CA file a client must trust.
    public let caFile: String
    /// The loops the listener and its connections run on.
    public let group: EventLoopGroup
    /// Every peer accepted so far, oldest first.
    public let peers = Mailbox<ProtocolPeer>()
    private let listener: Listener

    /// Starts listening; `script` answers each frame, `onActive` sees each connection once TLS is up.
    public init(
        script: @escaping ProtocolPeer.Script, onActive: (@Sendable (ProtocolPeer) -> Void)? = nil
    ) throws {
        let files = try TestCertificates.make()
        self.caFile = files.caFile
        self.group = EventLoopGroup(loopCount: 1)
        let peers = self.peers
        self.listener = Listener(
            host: "127.0.0.1", port: 0, tls: try TestCertificates.serverContext(files), group: self.group,
            limits: .defaults, maxConnections: 16
        ) { _ in
            ProtocolPeer(script: script) { peer in
                peers.put(peer)
                onActive?(peer)
            }
        }
        self.port = try self.listener.start()
    }

    /// The most recently accepted peer.
    public var current: ProtocolPeer? { self.peers.all.last }

    /// Stops accepting and drops the current connection.
    public func stop() {
        self.listener.stop()
        self.current?.close()
    }
}
