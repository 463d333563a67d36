import Dispatch
import LegateCore
import LegateNet
import LegateWire
import Synchronization

/// Why an admin call did not succeed: the connection failed, or the manager refused with a status.
public enum AdminClientError: Error, Equatable, CustomStringConvertible {
    /// No connection, TLS failure, or the connection dropped.
    case connection(String)
    /// The manager answered with an error status.
    case refused(code: StatusCode, message: String)
    /// The manager's answer could not be decoded.
    case malformed(String)
    /// No answer within the deadline.
    case timedOut(Duration)

    /// A sentence an operator can act on.
    public var description: String {
        switch self {
        case .connection(let reason): return "cannot reach the manager: \(reason); check --manager and --ca-file"
        case .refused(let code, let message): return "\(code): \(message)"
        case .malformed(let reason): return "the manager's answer is malformed: \(reason)"
        case .timedOut(let deadline): return "no answer within \(deadline); is the manager overloaded?"
        }
    }
}

/// A blocking admin API client (legatectl, tests): TLS, HELLO, AdminAuthenticate, then calls 101+.
///
/// `@unchecked Sendable`: `decoder` and `connection` are touched only on `loop`'s queue (handler callbacks and
/// `loop.execute` blocks); `state` is a Mutex; callers block on semaphores, never on the loop.
public final class AdminClient: ConnectionHandler, @unchecked Sendable {
    private final class Waiter: Sendable {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Frame, AdminClientError>?>(nil)

        func finish(_ value: Result<Frame, AdminClientError>) {
            let first = self.result.withLock { slot -> Bool in
                guard slot == nil else { return false }
                slot = value
                return true
            }
            if first { self.done.signal() }
        }
    }

    private struct State {
        var waiters: [UInt32: Waiter] = [:]
        var nextStreamID: UInt32 = 1
        var closedReason: String?
    }

    private let loop: EventLoop
    private let timeout: Duration
    /// How long an ordinary call waits for its answer.
    public var deadline: Duration { self.timeout }
    private let state = Mutex(State())
    private let connected = Waiter()
    private var decoder = FrameDecoder(maxFrameBytes: FrameLimits.maxFrameBytesCeiling)
    private var connection: Connection?
    /// What the manager said about the key once authenticated.
    public private(set) var session = AdminAuthenticated()

    private init(loop: EventLoop, timeout: Duration) {
        self.loop = loop
        self.timeout = timeout
    }

    /// Connects to `host:port` trusting `caFile`, says HELLO and authenticates with `apiKey`.
    public static func connect(
        host: String, port: Int, caFile: String, serverName: String? = nil, apiKey: String, loop: EventLoop,
        timeout: Duration = .seconds(10)
    ) throws(AdminClientError) -> AdminClient {
        let client = AdminClient(loop: loop, timeout: timeout)
        let tls: TLSClientContext
        do {
            tls = try TLSClientContext(TLSClientConfiguration(caFile: caFile))
        } catch {
            throw .connection("TLS setup failed: \(error)")
        }
        Connector.connect(
            host: host, port: port, tls: tls, serverName: serverName, loop: loop, limits: .defaults, handler: client
        ) { result in
            if case .failure(let error) = result { client.connected.finish(.failure(.connection("\(error)"))) }
        }
        _ = try client.wait(client.connected)
        var hello = Hello()
        hello.protocolVersion = ProtocolVersion.current
        // What this client's decoder accepts: a whole task output or log may be larger than the default.
        hello.maxFrameBytes = UInt32(FrameLimits.maxFrameBytesCeiling)
        hello.agent = "legatectl/0.1.0"
        let helloWaiter = client.register(streamID: 0)
        client.send(Frame(type: .hello, payload: hello.protoBytes()))
        let ack = try client.wait(helloWaiter)
        guard ack.type == .helloAck else { throw .malformed("expected HELLO_ACK, got \(ack.type)") }
        var request = AdminAuthenticate()
        request.apiKey = apiKey
        client.session = try client.call(AdminMethod.authenticate, request, as: AdminAuthenticated.self)
        return client
    }

    /// Sends one admin call and waits for its answer, at most `timeout` (default: the client's deadline; a call
    /// the manager holds open on purpose, such as a long poll, passes its own hold plus that deadline).
    public func call<Response: ProtoMessage>(
        _ method: AdminMethod, _ request: some ProtoMessage, as: Response.Type, timeout: Duration? = nil
    ) throws(AdminClientError) -> Response {
        let streamID = self.state.withLock { state -> UInt32 in
            let id = state.nextStreamID
            state.nextStreamID &+= 2
            return id
        }
        let waiter = self.register(streamID: streamID)
        self.send(Frame(type: .request, method: method.rawValue, streamID: streamID, payload: request.protoBytes()))
        let frame = try self.wait(waiter, timeout: timeout)
        if frame.type == .error {
            let status = (try? Status(protoBytes: frame.payload)) ?? Status()
            throw .refused(code: status.code, message: status.message)
        }
        do {
            return try Response(protoBytes: frame.payload)
        } catch {
            throw .malformed("\(error)")
        }
    }

    /// Closes the connection.
    public func close() {
        self.loop.execute { self.connection?.close(flushFirst: true) }
    }

    // MARK: - Plumbing

    private func register(streamID: UInt32) -> Waiter {
        let waiter = Waiter()
        let closed = self.state.withLock { state -> String? in
            if state.closedReason == nil { state.waiters[streamID] = waiter }
            return state.closedReason
        }
        if let closed { waiter.finish(.failure(.connection(closed))) }
        return waiter
    }

    private func wait(_ waiter: Waiter, timeout: Duration? = nil) throws(AdminClientError) -> Frame {
        let deadline = timeout ?? self.timeout
        if waiter.done.wait(timeout: .now() + deadline.dispatchInterval) == .timedOut {
            // Nobody waits for this stream any more; an answer arriving later is dropped.
            self.state.withLock { state in
                if let key = state.waiters.first(where: { $0.value === waiter })?.key { state.waiters[key] = nil }
            }
            throw .timedOut(deadline)
        }
        switch waiter.result.withLock({ $0 }) {
        case .success(let frame): return frame
        case .failure(let error): throw error
        case nil: throw .connection("no result")
        }
    }

    private func send(_ frame: Frame) {
        var encoded: [UInt8] = []
        FrameEncoder.encode(frame, into: &encoded)
        let bytes = encoded
        self.loop.execute { self.connection?.write(bytes) }
    }

    private func deliver(_ frame: Frame) {
        // HELLO_ACK and stream-0 errors go to stream 0's waiter; a stream-0 error also fails every call.
        let waiter = self.state.withLock { $0.waiters.removeValue(forKey: frame.streamID) }
        if frame.streamID == 0, frame.type == .error {
            let status = (try? Status(protoBytes: frame.payload)) ?? Status()
            self.failAll(.refused(code: status.code, message: status.message))
            return
        }
        waiter?.finish(.success(frame))
    }

    private func failAll(_ error: AdminClientError) {
        let waiters = self.state.withLock { state -> [Waiter] in
            if state.closedReason == nil { state.closedReason = error.description }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.finish(.failure(error)) }
    }

    // MARK: - ConnectionHandler (on the loop)

    /// TLS is up.
    public func connectionActive(_ connection: Connection) {
        self.connection = connection
        self.connected.finish(.success(Frame(type: .ping)))
    }

    /// Decodes frames and hands them to the waiting calls.
    public func connection(_ connection: Connection, received bytes: UnsafeRawBufferPointer) {
        self.decoder.append(bytes)
        while true {
            do {
                guard let frame = try self.decoder.nextFrame() else { return }
                self.deliver(frame)
            } catch {
                self.failAll(.malformed("\(error)"))
                connection.close(flushFirst: false)
                return
            }
        }
    }

    /// Not used.
    public func connectionWritabilityChanged(_ connection: Connection) {}

    /// Fails every waiting call.
    public func connectionClosed(_ connection: Connection, error: NetError?) {
        self.connection = nil
        self.failAll(.connection(error.map { "\($0)" } ?? "the manager closed the connection"))
        self.connected.finish(.failure(.connection(error.map { "\($0)" } ?? "closed during the TLS handshake")))
    }
}
