#if canImport(Glibc)
internal import Glibc
#endif

/// Opens client TLS connections.
public enum Connector {
    /// Non-blocking connect + TLS handshake under `limits.handshakeTimeout`; `completion` runs on `loop`.
    /// `serverName` nil verifies the certificate against `host`. On failure `handler` gets no callback.
    /// `sessionKey` names the TLS session remembered for resumption (default `host:port`); many clients in one
    /// process (the load tool) give each its own key so each resumes its own session.
    public static func connect(host: String, port: Int, tls: TLSClientContext, serverName: String?, loop: EventLoop,
                               limits: ConnectionLimits, handler: ConnectionHandler, sessionKey: String? = nil,
                               completion: @escaping @Sendable (Result<Connection, NetError>) -> Void) {
        let connection: Connection
        do throws(NetError) {
            connection = try self.open(host: host, port: port, tls: tls, serverName: serverName, loop: loop,
                                       limits: limits, sessionKey: sessionKey)
        } catch {
            loop.execute { completion(.failure(error)) }
            return
        }
        connection.handler = handler
        connection.onConnect = completion
        loop.execute { connection.startConnecting() }
    }

    private static func open(host: String, port: Int, tls: TLSClientContext, serverName: String?, loop: EventLoop,
                             limits: ConnectionLimits, sessionKey: String?) throws(NetError) -> Connection {
        let (family, storage, length) = try Socket.resolve(host: host, port: port, passive: false)[0]
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                        | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetError.fromErrno("socket") }
        var address = storage
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if rc != 0, errno != EINPROGRESS, errno != EINTR {
            let error = NetError.fromErrno("connect(\(Socket.describe(storage, length)))")
            _ = Glibc.close(fd)
            throw error
        }
        Socket.setNoDelay(fd)
        let key = sessionKey ?? "\(host):\(port)"
        let session: TLSSession
        do throws(TLSError) {
            session = try TLSSession(client: tls, serverName: serverName ?? host, sessionKey: key)
        } catch {
            _ = Glibc.close(fd)
            throw NetError.tls(error)
        }
        let connection = Connection(
            fd: fd, tls: session, loop: loop, limits: limits, peerAddress: Socket.describe(storage, length),
            state: .connecting)
        connection.sessionCache = (tls, key)
        return connection
    }
}
