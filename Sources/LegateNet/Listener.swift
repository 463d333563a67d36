internal import CLegateNetShims
internal import Dispatch
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// What a listener reports to its owner's log; each at most once per burst, never per accept.
public enum ListenerEvent: Sendable, Equatable {
    /// accept(2) failed for want of descriptors (EMFILE: the process, ENFILE: the system); pending connections
    /// are accepted and closed at once (with a spare descriptor) until descriptors free up.
    case descriptorsExhausted(errno: Int32, openFileLimit: Int)
    /// Connections are served again; `closedUnserved` were accepted and closed at once meanwhile.
    case descriptorsRecovered(closedUnserved: Int)
    /// A connection was refused because `cap` connections are open (reported once until one is served again).
    case connectionCapReached(cap: Int, openFileLimit: Int)
    /// After a connection storm, freed heap was handed back to the system (resident sizes in bytes).
    case memoryReturned(residentBytesBefore: Int, residentBytesAfter: Int)
}

/// Accepts TLS connections (plain TCP ones when given no TLS context) and spreads them over an EventLoopGroup.
///
/// Never leaves a peer waiting in the kernel backlog: above `connectionCap` a connection gets the refusal
/// handler (a status after TLS) while `refusalCapacity` allows, or is closed at once; when the process is out
/// of descriptors a spare one is given up to accept and close pending connections.
///
/// `@unchecked Sendable`: `fd`, `source`, `spareFD` and the burst state are written in `start()` before the
/// source runs and are otherwise touched only on `acceptQueue`; the counters are Atomics.
public final class Listener: @unchecked Sendable {
    /// Connections served at once: `maxConnections`, lowered to what the open-file limit allows.
    public let connectionCap: Int
    /// Connections above the cap that may be in their refusal (TLS, status, close) at once; beyond it they are
    /// closed without TLS. Taken from the descriptors `System.reservedDescriptors` keeps back.
    public let refusalCapacity: Int
    private let host: String
    private let port: Int
    private let tls: TLSServerContext?
    private let group: EventLoopGroup
    private let limits: ConnectionLimits
    private let makeHandler: @Sendable (Connection) -> ConnectionHandler
    private let refusalHandler: (@Sendable (Connection) -> ConnectionHandler)?
    /// Returns freed heap to the system once the count falls well below its peak (nil: never).
    public let memoryTrimmer: MemoryTrimmer?
    private let onEvent: (@Sendable (ListenerEvent) -> Void)?
    private let acceptQueue = DispatchQueue(label: "legate.accept")
    private var fd: Int32 = -1
    private var spareFD: Int32 = -1
    private var source: DispatchSourceRead?
    private var suspended = false
    private var exhausted = false
    private var atCap = false
    private var closedUnserved = 0
    private let count = Atomic<Int>(0)
    private let refusing = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    /// Signalled once the listening socket is closed (the accept source's cancel handler ran).
    private let listeningSocketClosed = DispatchSemaphore(value: 0)

    /// Prepares a listener; nothing is bound until `start()`; with `tls` nil connections are plain TCP. `refusalHandler` serves connections above the cap
    /// (nil: they are closed at once); `onEvent` hears about descriptor exhaustion (on the accept queue) and
    /// memory returned after storms; `trimPolicy` says when to return it (nil: never).
    public init(host: String, port: Int, tls: TLSServerContext?, group: EventLoopGroup, limits: ConnectionLimits,
                maxConnections: Int, refusalHandler: (@Sendable (Connection) -> ConnectionHandler)? = nil,
                onEvent: (@Sendable (ListenerEvent) -> Void)? = nil, trimPolicy: TrimPolicy? = .defaults,
                makeHandler: @escaping @Sendable (Connection) -> ConnectionHandler) {
        self.host = host
        self.port = port
        self.tls = tls
        self.group = group
        self.limits = limits
        let openFiles = System.openFileLimit
        self.connectionCap = openFiles > 0
            ? min(maxConnections, System.connectionCap(openFileLimit: openFiles)) : maxConnections
        self.refusalCapacity = max(8, System.reservedDescriptors(openFileLimit: openFiles) / 4)
        self.refusalHandler = refusalHandler
        self.onEvent = onEvent
        self.makeHandler = makeHandler
        self.memoryTrimmer = trimPolicy.map { policy in
            MemoryTrimmer(policy: policy) { before, after in
                onEvent?(.memoryReturned(residentBytesBefore: before, residentBytesAfter: after))
            }
        }
    }

    deinit {
        // No other reference exists now, so touching the source off acceptQueue is safe.
        if self.suspended { self.source?.resume() }
        self.source?.cancel()
        // The cancel handler holds `self` weakly: once we are gone the spare is ours to close.
        if self.spareFD >= 0 { _ = Glibc.close(self.spareFD) }
    }

    /// Connections currently open.
    public var connectionCount: Int { self.count.load(ordering: .relaxed) }
    /// Connections refused because the cap was reached (served a refusal or closed at once).
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
        self.spareFD = Self.openSpare()
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: self.acceptQueue)
        source.setEventHandler { [weak self] in self?.acceptBatch() }
        let closed = self.listeningSocketClosed
        source.setCancelHandler { [weak self] in
            _ = Glibc.close(fd)
            if let self, self.spareFD >= 0 {
                _ = Glibc.close(self.spareFD)
                self.spareFD = -1
            }
            closed.signal()
        }
        self.source = source
        source.resume()
        return Socket.localPort(fd)
    }

    /// Stops accepting; open connections stay.
    public func stop() {
        let wasListening = self.acceptQueue.sync { () -> Bool in
            if self.suspended {
                self.source?.resume()
                self.suspended = false
            }
            guard let source = self.source else { return false }
            source.cancel()
            self.source = nil
            return true
        }
        // The socket closes in the source's cancel handler, on the accept queue: wait for it (bounded), so a
        // connect after `stop()` returns is refused rather than left in a backlog nobody reads.
        if wasListening { _ = self.listeningSocketClosed.wait(timeout: .now() + .seconds(5)) }
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
                case EMFILE, ENFILE:
                    if !self.exhausted {
                        self.exhausted = true
                        self.onEvent?(.descriptorsExhausted(errno: code, openFileLimit: System.openFileLimit))
                    }
                    switch self.shedWithSpare() {
                    case .closed: continue
                    case .backlogEmpty: return
                    case .noSpare: self.pause()
                    }
                    return
                case ENOBUFS, ENOMEM:
                    self.pause()
                    return
                default: return  // EAGAIN and transient errors: wait for the next readiness event
                }
            }
            if self.exhausted {
                self.exhausted = false
                self.onEvent?(.descriptorsRecovered(closedUnserved: self.closedUnserved))
                self.closedUnserved = 0
            }
            self.admit(client, peer: Socket.describe(storage, length))
        }
    }

    /// Pauses accepting briefly instead of spinning on a ready socket nothing can be accepted from.
    private func pause() {
        guard let source = self.source, !self.suspended else { return }
        source.suspend()
        self.suspended = true
        self.acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in
            guard let self, self.suspended else { return }
            self.suspended = false
            self.source?.resume()
        }
    }

    private enum ShedResult { case closed, backlogEmpty, noSpare }

    /// Out of descriptors: gives up the spare to accept one pending connection and close it at once (the peer
    /// sees the connection end instead of waiting in the backlog), then takes the spare back.
    private func shedWithSpare() -> ShedResult {
        guard self.spareFD >= 0 else {
            self.spareFD = Self.openSpare()
            return .noSpare
        }
        _ = Glibc.close(self.spareFD)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) { legate_accept4(self.fd, $0, &length) }
        let code = errno
        if client >= 0 {
            Self.drainAndClose(client)
            self.closedUnserved += 1
        }
        self.spareFD = Self.openSpare()
        if client >= 0 { return .closed }
        return code == EAGAIN || code == EWOULDBLOCK ? .backlogEmpty : .noSpare
    }

    /// A descriptor held in reserve for `shedWithSpare` (-1 when none could be opened).
    private static func openSpare() -> Int32 {
        Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    /// Reads what the peer already sent (a ClientHello) so close(2) ends the connection with a FIN, not a reset.
    private static func drainAndClose(_ client: Int32) {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &buffer) { raw in
            for _ in 0..<8 where Glibc.recv(client, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT)) > 0 {}
        }
        _ = Glibc.shutdown(client, Int32(SHUT_RDWR))
        _ = Glibc.close(client)
    }

    private func admit(_ client: Int32, peer: String) {
        let admitted = self.count.add(1, ordering: .relaxed).newValue
        guard admitted <= self.connectionCap else {
            self.count.subtract(1, ordering: .relaxed)
            self.refused.add(1, ordering: .relaxed)
            if !self.atCap {
                self.atCap = true
                self.onEvent?(.connectionCapReached(cap: self.connectionCap, openFileLimit: System.openFileLimit))
            }
            guard let refusalHandler = self.refusalHandler,
                  self.refusing.add(1, ordering: .relaxed).newValue <= self.refusalCapacity
            else {
                if self.refusalHandler != nil { self.refusing.subtract(1, ordering: .relaxed) }
                Self.drainAndClose(client)
                return
            }
            self.serve(client, peer: peer, makeHandler: refusalHandler) { [weak self] in
                self?.refusing.subtract(1, ordering: .relaxed)
            }
            return
        }
        self.atCap = false
        self.memoryTrimmer?.countChanged(admitted)
        self.serve(client, peer: peer, makeHandler: self.makeHandler) { [weak self] in
            guard let self else { return }
            let remaining = self.count.subtract(1, ordering: .relaxed).newValue
            self.memoryTrimmer?.countChanged(remaining)
        }
    }

    private func serve(
        _ client: Int32, peer: String, makeHandler: @escaping @Sendable (Connection) -> ConnectionHandler,
        onClose: @escaping @Sendable () -> Void
    ) {
        var session: TLSSession?
        if let tls = self.tls {
            do throws(TLSError) { session = try TLSSession(server: tls) } catch {
                onClose()
                Self.drainAndClose(client)
                return
            }
        }
        Socket.setNoDelay(client)
        let loop = self.group.next()
        let connection = Connection(
            fd: client, tls: session, loop: loop, limits: self.limits, peerAddress: peer, state: .handshaking)
        connection.onClose = onClose
        loop.execute {
            connection.handler = makeHandler(connection)
            connection.startAccepted()
        }
    }
}
