internal import CLegateNetShims
internal import Dispatch
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Accepts TLS connections (plain TCP ones when given no TLS context) and spreads them over an EventLoopGroup.
///
/// `@unchecked Sendable`: `fd` and `source` are written in `start()` before the source runs and are
/// otherwise touched only on `acceptQueue`; the counters are Atomics.
public final class Listener: @unchecked Sendable {
    private let host: String
    private let port: Int
    private let tls: TLSServerContext?
    private let group: EventLoopGroup
    private let limits: ConnectionLimits
    private let maxConnections: Int
    private let makeHandler: @Sendable (Connection) -> ConnectionHandler
    private let acceptQueue = DispatchQueue(label: "legate.accept")
    private var fd: Int32 = -1
    private var source: DispatchSourceRead?
    private var suspended = false
    private let count = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)

    /// Prepares a listener; nothing is bound until `start()`. With `tls` nil connections are plain TCP.
    public init(host: String, port: Int, tls: TLSServerContext?, group: EventLoopGroup, limits: ConnectionLimits,
                maxConnections: Int, makeHandler: @escaping @Sendable (Connection) -> ConnectionHandler) {
        self.host = host
        self.port = port
        self.tls = tls
        self.group = group
        self.limits = limits
        self.maxConnections = maxConnections
        self.makeHandler = makeHandler
    }

    deinit {
        // No other reference exists now, so touching the source off acceptQueue is safe.
        if self.suspended { self.source?.resume() }
        self.source?.cancel()
    }

    /// Connections currently open.
    public var connectionCount: Int { self.count.load(ordering: .relaxed) }
    /// Connections accepted and closed at once because maxConnections was reached.
    public var refusedCount: Int { self.refused.load(ordering: .relaxed) }

    /// Binds and starts accepting; returns the bound port (port 0: the OS picks).
    public func start() throws(NetError) -> Int {
        let addresses = try Socket.resolve(host: self.host, port: self.port, passive: true)
        let (family, storage, length) = addresses[0]
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetError.fromErrno("socket") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = storage
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let error = NetError.fromErrno("bind(\(Socket.describe(storage, length)))")
            _ = Glibc.close(fd)
            throw error
        }
        guard listen(fd, 4096) == 0 else {
            let error = NetError.fromErrno("listen")
            _ = Glibc.close(fd)
            throw error
        }
        do throws(NetError) { try Socket.makeNonBlocking(fd) } catch {
            _ = Glibc.close(fd)
            throw error
        }
        self.fd = fd
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: self.acceptQueue)
        source.setEventHandler { [weak self] in self?.acceptBatch() }
        source.setCancelHandler { _ = Glibc.close(fd) }
        self.source = source
        source.resume()
        return Socket.localPort(fd)
    }

    /// Stops accepting; open connections stay.
    public func stop() {
        self.acceptQueue.sync {
            if self.suspended {
                self.source?.resume()
                self.suspended = false
            }
            self.source?.cancel()
            self.source = nil
        }
    }

    private func acceptBatch() {
        for _ in 0..<256 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                // Non-blocking and close-on-exec in the same syscall.
                legate_accept4(self.fd, $0, &length)
            }
            if client < 0 {
                let code = errno
                switch code {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: pause accepting briefly instead of spinning on a ready socket.
                    if let source = self.source, !self.suspended {
                        source.suspend()
                        self.suspended = true
                        self.acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in
                            guard let self, self.suspended else { return }
                            self.suspended = false
                            self.source?.resume()
                        }
                    }
                    return
                default: return  // EAGAIN and transient errors: wait for the next readiness event
                }
            }
            self.admit(client, peer: Socket.describe(storage, length))
        }
    }

    private func admit(_ client: Int32, peer: String) {
        let admitted = self.count.add(1, ordering: .relaxed).newValue
        guard admitted <= self.maxConnections else {
            self.count.subtract(1, ordering: .relaxed)
            self.refused.add(1, ordering: .relaxed)
            _ = Glibc.close(client)
            return
        }
        var session: TLSSession?
        if let tls = self.tls {
            do throws(TLSError) { session = try TLSSession(server: tls) } catch {
                self.count.subtract(1, ordering: .relaxed)
                _ = Glibc.close(client)
                return
            }
        }
        Socket.setNoDelay(client)
        let loop = self.group.next()
        let connection = Connection(
            fd: client, tls: session, loop: loop, limits: self.limits, peerAddress: peer, state: .handshaking)
        connection.onClose = { [weak self] in self?.count.subtract(1, ordering: .relaxed) }
        let makeHandler = self.makeHandler
        loop.execute {
            connection.handler = makeHandler(connection)
            connection.startAccepted()
        }
    }
}
