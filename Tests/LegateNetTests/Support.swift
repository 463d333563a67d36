import Dispatch
import Foundation
import Synchronization
import Testing
@testable import LegateNet

/// Waits on a semaphore with a deadline; false on timeout.
func wait(_ semaphore: DispatchSemaphore, seconds: Double = 10) -> Bool {
    semaphore.wait(timeout: .now() + seconds) == .success
}

/// Records everything a connection reports; optionally echoes or streams a payload.
///
/// `@unchecked Sendable`: callbacks run on the connection's loop; the test thread reads only through
/// `snapshot`, which takes the Mutex.
final class Recorder: ConnectionHandler, @unchecked Sendable {
    struct State {
        var received: [UInt8] = []
        var closed = false
        var closeError: NetError?
        var active = false
        var alpn: String?
        var peerSubject: String?
        var chunks = 0
    }

    let echo: Bool
    /// Answer each received call with three separate writes (to observe coalescing).
    var tripleReply = false
    let expectBytes: Int
    let onActive: (@Sendable (Recorder, Connection) -> Void)?
    let activeSignal = DispatchSemaphore(value: 0)
    let receivedSignal = DispatchSemaphore(value: 0)
    let closedSignal = DispatchSemaphore(value: 0)
    private let state = Mutex(State())
    private var payload: [UInt8] = []
    private var payloadOffset = 0
    private var closeAfterPayload = false

    init(echo: Bool = false, expectBytes: Int = 0, onActive: (@Sendable (Recorder, Connection) -> Void)? = nil) {
        self.echo = echo
        self.expectBytes = expectBytes
        self.onActive = onActive
    }

    var snapshot: State { self.state.withLock { $0 } }

    /// Streams `bytes` respecting isWritable (call on the loop), then optionally closes.
    func stream(_ bytes: [UInt8], on connection: Connection, closeAfter: Bool = false) {
        self.payload = bytes
        self.payloadOffset = 0
        self.closeAfterPayload = closeAfter
        self.pump(connection)
    }

    private func pump(_ connection: Connection) {
        while self.payloadOffset < self.payload.count, connection.isWritable {
            let end = min(self.payload.count, self.payloadOffset + 16 << 10)
            self.payload[self.payloadOffset..<end].withUnsafeBytes { connection.write($0) }
            self.payloadOffset = end
        }
        if self.payloadOffset >= self.payload.count, self.closeAfterPayload {
            self.closeAfterPayload = false
            connection.close(flushFirst: true)
        }
    }

    func connectionActive(_ connection: Connection) {
        let alpn = connection.negotiatedALPN
        let subject = connection.peerCertificateSubject
        self.state.withLock {
            $0.active = true
            $0.alpn = alpn
            $0.peerSubject = subject
        }
        self.activeSignal.signal()
        self.onActive?(self, connection)
    }

    func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        if self.echo { connection.write(bytes) }
        if self.tripleReply {
            for part in ["one-", "two-", "three"] { connection.write(Array(part.utf8)) }
        }
        let total = self.state.withLock {
            $0.received.append(contentsOf: bytes)
            $0.chunks += 1
            return $0.received.count
        }
        if self.expectBytes > 0, total >= self.expectBytes, total - bytes.count < self.expectBytes {
            self.receivedSignal.signal()
        }
    }

    func connectionWritabilityChanged(_ connection: Connection) {
        if connection.isWritable { self.pump(connection) }
    }

    func connectionClosed(_ connection: Connection, error: NetError?) {
        self.state.withLock {
            $0.closed = true
            $0.closeError = error
        }
        self.closedSignal.signal()
    }
}

/// Collects the server-side recorders a listener creates.
final class ServerRecorders: Sendable {
    let all = Mutex<[Recorder]>([])
    let created = DispatchSemaphore(value: 0)
    let make: @Sendable () -> Recorder

    init(_ make: @escaping @Sendable () -> Recorder = { Recorder(echo: true) }) { self.make = make }

    var handlerFactory: @Sendable (Connection) -> ConnectionHandler {
        { _ in
            let recorder = self.make()
            self.all.withLock { $0.append(recorder) }
            self.created.signal()
            return recorder
        }
    }

    var first: Recorder? { self.all.withLock { $0.first } }
}

/// Connects and waits for the handshake.
func connectSync(port: Int, host: String = "127.0.0.1", tls: TLSClientContext, serverName: String? = nil,
                 loop: EventLoop, handler: ConnectionHandler, limits: ConnectionLimits = .defaults)
    -> Result<Connection, NetError>?
{
    let done = DispatchSemaphore(value: 0)
    let box = Mutex<Result<Connection, NetError>?>(nil)
    Connector.connect(host: host, port: port, tls: tls, serverName: serverName, loop: loop, limits: limits,
                      handler: handler) { result in
        box.withLock { $0 = result }
        done.signal()
    }
    guard wait(done) else { return nil }
    return box.withLock { $0 }
}
