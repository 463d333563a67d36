import Foundation
import LegateNet
import LegateWire

/// A hand-driven protocol peer for hostile-input tests: sends whatever frames or bytes it is told and
/// collects what the manager answers.
public final class RawProtocolClient: ConnectionHandler, @unchecked Sendable {
    // `@unchecked Sendable`: `decoder` and `connection` are touched only on the connection's loop; the
    // mailboxes are thread-safe.

    /// Frames received from the manager.
    public let frames = Mailbox<Frame>()
    /// Set once when the connection closes (nil error = orderly).
    public let closed = Mailbox<String>()
    private var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxFrameBytesCeiling)
    private var connection: Connection?
    private let ready = Mailbox<Bool>()

    private init() {}

    /// Connects over TLS to `port` on `host`, trusting `caFile`; nil if the connection fails.
    public static func connect(host: String = "127.0.0.1", port: Int, caFile: String, loop: EventLoop)
        -> RawProtocolClient?
    {
        let client = RawProtocolClient()
        guard let tls = try? TLSClientContext(TLSClientConfiguration(caFile: caFile)) else { return nil }
        Connector.connect(
            host: host, port: port, tls: tls, serverName: "localhost", loop: loop, limits: .defaults, handler: client
        ) { result in
            if case .failure = result { client.ready.put(false) }
        }
        guard client.ready.next(timeout: .seconds(10)) == true else { return nil }
        return client
    }

    /// Sends one frame.
    public func send(_ frame: Frame) {
        var bytes: [UInt8] = []
        FrameEncoder.encode(frame, into: &bytes)
        self.send(bytes: bytes)
    }

    /// Sends raw plaintext bytes (possibly not a valid frame).
    public func send(bytes: [UInt8]) {
        guard let connection = self.connection else { return }
        connection.loop.execute { connection.write(bytes) }
    }

    /// Sends HELLO (protocol 1) and waits for HELLO_ACK.
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

    /// Waits until the manager closes the connection.
    public func waitUntilClosed(timeout: Duration = .seconds(10)) -> Bool {
        self.closed.next(timeout: timeout) != nil
    }

    /// Closes from this side.
    public func close() {
        guard let connection = self.connection else { return }
        connection.loop.execute { connection.close(flushFirst: false) }
    }

    /// TLS is up: the client is ready.
    public func connectionActive(_ connection: Connection) {
        self.connection = connection
        self.ready.put(true)
    }

    /// Decodes what arrived into frames.
    public func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        self.decoder.append(bytes)
        while let frame = try? self.decoder.nextFrame() {
            self.frames.put(frame)
        }
    }

    /// Not used.
    public func connectionWritabilityChanged(_ connection: Connection) {}

    /// Records the close.
    public func connectionClosed(_ connection: Connection, error: NetError?) {
        self.closed.put(error.map { "\($0)" } ?? "closed")
    }
}

/// A plain TCP client with no TLS, for sending garbage where a TLS ClientHello belongs.
public enum PlainSocket {
    /// Connects to 127.0.0.1:`port`, sends `bytes`, and returns true if the server closed the connection
    /// within `timeout` (reads return 0 or an error) without sending anything back but TLS alerts.
    public static func sendAndAwaitClose(port: Int, bytes: [UInt8], timeout: Duration = .seconds(10)) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let seconds = Mailbox<Int>.seconds(timeout)
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
        return false
    }
}
