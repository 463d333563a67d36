internal import COpenSSL
internal import Dispatch
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

private let connectionIDs = Atomic<UInt64>(0)

/// One TLS connection (or, for a listener without TLS, one plain TCP connection): moves bytes between its socket
/// and its TLSSession and calls its handler.
///
/// `@unchecked Sendable`: all mutable state is touched only on `loop.queue` (the loop's poller, timers and
/// public methods run there); the object is handed to the loop once, before any of that starts.
public final class Connection: @unchecked Sendable {
    enum State { case connecting, handshaking, active, closing, closed }

    /// Process-unique id.
    public let id: UInt64
    /// The loop that owns this connection; call every method on it.
    public let loop: EventLoop
    /// The peer, "127.0.0.1:54321" or "[::1]:54321".
    public let peerAddress: String
    /// Receives events; strong until close, then released.
    public var handler: ConnectionHandler?

    let fd: Int32
    /// nil on a plain TCP connection: bytes pass through unencrypted.
    let tls: TLSSession?
    /// Unsent bytes of a plain connection (a TLS connection keeps its ciphertext in `tls.output`).
    private var plainOutput: [UInt8] = []
    let limits: ConnectionLimits
    var state: State
    /// The fd's registration in `loop.poller` (nil before start and after close).
    private var pollToken: PollToken?
    /// True while EPOLLOUT is in the interest set (connecting, or output blocked).
    private var wantsWrite = false
    private var sentOffset = 0
    private var pendingPlaintext: [UInt8] = []
    private var inReceive = false
    /// Inside `coalescingWrites`: writes are gathered and sent as one TLS write when it ends.
    private var isCoalescing = false
    private var writable = true
    private var lastWriteProgress: ContinuousClock.Instant
    private var handshakeTimer: ScheduledTimer?
    private var writeTimer: ScheduledTimer?
    /// Client side: completion of Connector.connect, called once.
    var onConnect: (@Sendable (Result<Connection, NetError>) -> Void)?
    /// Client side: where to remember the session for resumption.
    var sessionCache: (TLSClientContext, String)?
    /// Listener bookkeeping, called once when closed.
    var onClose: (@Sendable () -> Void)?

    init(fd: Int32, tls: TLSSession?, loop: EventLoop, limits: ConnectionLimits, peerAddress: String, state: State) {
        self.id = connectionIDs.wrappingAdd(1, ordering: .relaxed).newValue
        self.fd = fd
        self.tls = tls
        self.loop = loop
        self.limits = limits
        self.peerAddress = peerAddress
        self.state = state
        self.lastWriteProgress = ContinuousClock.now
    }

    /// True while unsent output is at most `limits.maxBufferedWriteBytes`.
    public var isWritable: Bool { self.writable }
    /// The ALPN protocol agreed in the handshake ("legate/1").
    public var negotiatedALPN: String? { self.tls?.negotiatedALPN }
    /// The peer certificate's subject (mutual TLS), one line.
    public var peerCertificateSubject: String? { self.tls?.peerCertificateSubject }
    /// True when the TLS session was resumed.
    public var isSessionResumed: Bool { self.tls?.isResumed ?? false }
    /// False on a plain TCP connection.
    public var isEncrypted: Bool { self.tls != nil }
    /// Unsent ciphertext bytes.
    public var bufferedWriteBytes: Int { self.output.count - self.sentOffset }

    /// The bytes waiting for the socket: the TLS session's ciphertext, or the plain output.
    private var output: [UInt8] {
        get { self.tls?.output ?? self.plainOutput }
        _modify {
            if let tls = self.tls {
                yield &tls.output
            } else {
                yield &self.plainOutput
            }
        }
    }

    // MARK: - Start

    /// Server side: start reading the ClientHello under the handshake deadline (plain TCP: active at once).
    func startAccepted() {
        guard self.tls != nil else {
            self.register(events: Poller.readable)
            self.handshakeCompleted()
            return
        }
        self.armHandshakeTimer()
        self.register(events: Poller.readable)
    }

    /// Client side: wait for the non-blocking connect, then send the ClientHello.
    func startConnecting() {
        self.armHandshakeTimer()
        self.wantsWrite = true
        self.register(events: Poller.readable | Poller.writable)
    }

    private func armHandshakeTimer() {
        let limit = self.limits.handshakeTimeout
        self.handshakeTimer = self.loop.schedule(after: limit) { [weak self] in
            guard let self, self.state == .connecting || self.state == .handshaking else { return }
            self.finishClose(error: .handshakeTimeout(limit))
        }
    }

    private func register(events: UInt32) {
        guard self.state != .closed else { return }
        do throws(NetError) {
            self.pollToken = try self.loop.poller.register(self.fd, events: events, target: self)
        } catch {
            self.finishClose(error: error)
        }
    }

    private func connectFinished() {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(self.fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0 { code = errno }
        guard code == 0 else {
            self.finishClose(error: .fromErrno("connect", code))
            return
        }
        self.state = .handshaking
        guard let tls = self.tls else { return self.handshakeCompleted() }
        self.handleTLS(tls.handshake(feeding: UnsafeRawBufferPointer(start: nil, count: 0)))
        self.flushOutput()
    }

    // MARK: - Reading

    /// Reads per turn before other ready connections get their go (64 KiB each).
    static let readsPerTurn = 8

    /// Reads until EAGAIN or the per-turn budget; true when the budget ran out with data possibly left.
    private func readable() -> Bool {
        var rounds = 0
        while self.state != .closed {
            if rounds == Self.readsPerTurn {
                self.flushOutput()
                return true
            }
            rounds += 1
            let count: Int?
            do throws(NetError) {
                count = try Socket.read(self.fd, into: self.loop.readBuffer)
            } catch {
                self.finishClose(error: error)
                return false
            }
            guard let count else { break }
            if count == 0 {
                self.finishClose(error: self.state == .closing ? nil : .closedByPeer)
                return false
            }
            self.process(UnsafeRawBufferPointer(rebasing: self.loop.readBuffer[0..<count]))
            // A short read drained the socket: skip the read that would only return EAGAIN.
            if count < self.loop.readBuffer.count { break }
        }
        if self.state != .closed { self.flushOutput() }
        return false
    }

    private func process(_ bytes: UnsafeRawBufferPointer) {
        guard let tls = self.tls else { return self.processPlain(bytes) }
        self.inReceive = true
        let result = tls.feed(bytes, scratch: self.loop.plaintextBuffer) { chunk in
            if self.state == .handshaking { self.handshakeCompleted() }
            guard self.state == .active, let handler = self.handler else { return self.state != .closed }
            handler.connection(self, received: chunk)
            return self.state != .closed
        }
        self.inReceive = false
        if self.state == .handshaking, tls.isHandshakeComplete { self.handshakeCompleted() }
        self.handleTLS(result)
        if self.state == .active, !self.pendingPlaintext.isEmpty { self.encryptPending() }
    }

    private func processPlain(_ bytes: UnsafeRawBufferPointer) {
        guard self.state == .active, let handler = self.handler else { return }
        self.inReceive = true
        handler.connection(self, received: bytes)
        self.inReceive = false
        if self.state == .active, !self.pendingPlaintext.isEmpty { self.encryptPending() }
    }

    private func handleTLS(_ result: TLSResult) {
        switch result {
        case .complete, .wantRead:
            if self.state == .handshaking, self.tls?.isHandshakeComplete == true { self.handshakeCompleted() }
        case .closed:
            // Peer's close_notify: answer with ours and close orderly.
            self.tls?.shutdown()
            self.flushOutput()
            self.finishClose(error: nil)
        case .failed(let error):
            self.flushOutput()  // best effort: the alert tells the peer why
            self.finishClose(error: .tls(error))
        }
    }

    private func handshakeCompleted() {
        guard self.state == .handshaking else { return }
        self.state = .active
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        if let connect = self.onConnect {
            self.onConnect = nil
            connect(.success(self))
        }
        guard self.state == .active else { return }
        self.handler?.connectionActive(self)
    }

    // MARK: - Writing

    /// Queues plaintext; coalesced during a `received` callback, otherwise encrypted and sent at once.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard self.state == .active || self.state == .handshaking || self.state == .connecting else { return }
        if self.inReceive || self.isCoalescing || self.state != .active {
            self.pendingPlaintext.append(contentsOf: bytes)
            return
        }
        guard let tls = self.tls else {
            self.plainOutput.append(contentsOf: bytes)
            return self.flushOutput()
        }
        if case .failed(let error) = tls.write(bytes) {
            self.finishClose(error: .tls(error))
            return
        }
        self.flushOutput()
    }

    /// On the loop: runs `body`, whose writes are encrypted and sent together when it returns (one TLS record and
    /// one send for many small frames).
    public func coalescingWrites(_ body: () -> Void) {
        guard !self.isCoalescing else { return body() }
        self.isCoalescing = true
        body()
        self.isCoalescing = false
        if self.state != .closed { self.flushOutput() }
    }

    /// Queues plaintext (see `write(_: UnsafeRawBufferPointer)`).
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.write($0) }
    }

    private func encryptPending() {
        let pending = self.pendingPlaintext
        self.pendingPlaintext = []
        guard let tls = self.tls else { return self.plainOutput.append(contentsOf: pending) }
        let result = pending.withUnsafeBytes { tls.write($0) }
        if case .failed(let error) = result { self.finishClose(error: .tls(error)) }
    }

    func flushOutput() {
        guard self.state != .closed else { return }
        if self.state == .active, !self.pendingPlaintext.isEmpty, !self.inReceive, !self.isCoalescing {
            self.encryptPending()
        }
        while self.sentOffset < self.output.count {
            let offset = self.sentOffset
            let result = self.output.withUnsafeBytes { raw -> Result<Int?, NetError> in
                do throws(NetError) {
                    return .success(try Socket.send(self.fd, UnsafeRawBufferPointer(rebasing: raw[offset...])))
                } catch {
                    return .failure(error)
                }
            }
            let sent: Int?
            switch result {
            case .success(let count): sent = count
            case .failure(let error):
                self.finishClose(error: error)
                return
            }
            guard let sent, sent > 0 else { break }
            self.sentOffset += sent
            self.lastWriteProgress = ContinuousClock.now
        }
        if self.sentOffset >= self.output.count {
            // Drained: release the buffer so idle connections hold no output memory.
            self.output = []
            self.sentOffset = 0
            self.setWriteInterest(false)
            self.writeTimer?.cancel()
            self.writeTimer = nil
        } else {
            if self.sentOffset >= 64 << 10 {
                self.output.removeFirst(self.sentOffset)
                self.sentOffset = 0
            }
            let buffered = self.bufferedWriteBytes
            if buffered > self.limits.hardWriteCap {
                self.finishClose(error: .writeBufferOverflow(bufferedBytes: buffered, limit: self.limits.hardWriteCap))
                return
            }
            self.setWriteInterest(true)
            self.armWriteTimer()
        }
        self.updateWritability()
        if self.state == .closing, self.bufferedWriteBytes == 0 { self.finishClose(error: nil) }
    }

    private func updateWritability() {
        let now = self.bufferedWriteBytes <= self.limits.maxBufferedWriteBytes
        guard now != self.writable else { return }
        self.writable = now
        if self.state == .active { self.handler?.connectionWritabilityChanged(self) }
    }

    /// Adds or removes EPOLLOUT (EPOLL_CTL_MOD) when it changes.
    private func setWriteInterest(_ on: Bool) {
        guard on != self.wantsWrite, let token = self.pollToken, self.state != .closed else { return }
        self.wantsWrite = on
        do throws(NetError) {
            try self.loop.poller.modify(self.fd, token: token, events: on ? Poller.readable | Poller.writable
                                                                          : Poller.readable)
        } catch {
            self.finishClose(error: error)
        }
    }

    private func armWriteTimer() {
        guard self.writeTimer == nil else { return }
        let limit = self.limits.writeTimeout
        let remaining = limit - (ContinuousClock.now - self.lastWriteProgress)
        self.writeTimer = self.loop.schedule(after: max(remaining, .milliseconds(1))) { [weak self] in
            guard let self, self.state != .closed else { return }
            self.writeTimer = nil
            guard self.bufferedWriteBytes > 0 else { return }
            if ContinuousClock.now - self.lastWriteProgress >= limit {
                self.finishClose(error: .writeTimeout(limit))
            } else {
                self.armWriteTimer()
            }
        }
    }

    // MARK: - Closing

    /// Closes: with `flushFirst`, pending output and a TLS close_notify go out first (bounded by
    /// writeTimeout); the fd leaves the loop's epoll (EPOLL_CTL_DEL) and is then closed.
    public func close(flushFirst: Bool = true) {
        switch self.state {
        case .closed, .closing:
            return
        case .connecting, .handshaking:
            self.finishClose(error: nil)
        case .active:
            guard flushFirst else {
                self.finishClose(error: nil)
                return
            }
            if !self.pendingPlaintext.isEmpty { self.encryptPending() }
            guard self.state == .active else { return }
            self.tls?.shutdown()
            self.state = .closing
            self.flushOutput()
        }
    }

    private func finishClose(error: NetError?) {
        guard self.state != .closed else { return }
        let wasConnecting = self.onConnect != nil
        self.state = .closed
        for timer in [self.handshakeTimer, self.writeTimer] { timer?.cancel() }
        self.handshakeTimer = nil
        self.writeTimer = nil
        if let (context, key) = self.sessionCache, let tls = self.tls, tls.isHandshakeComplete,
           let session = tls.resumableSession() {
            context.storeSession(session, for: key)
        }
        self.sessionCache = nil
        self.output = []
        self.pendingPlaintext = []
        // DEL before close: the fd number may be reused at once; events of this batch carry a stale generation.
        if let token = self.pollToken { self.loop.poller.deregister(self.fd, token: token) }
        self.pollToken = nil
        self.wantsWrite = false
        _ = Glibc.close(self.fd)
        let handler = self.handler
        self.handler = nil
        if let onClose = self.onClose {
            self.onClose = nil
            onClose()
        }
        if wasConnecting, let connect = self.onConnect {
            self.onConnect = nil
            connect(.failure(error ?? .notConnected))
        } else {
            handler?.connectionClosed(self, error: error)
        }
    }
}

extension Connection: PollTarget {
    /// Called by the loop's poller with the fd's ready events.
    func pollEvents(_ events: UInt32) -> Bool {
        if self.state == .connecting {
            // Writable (connected) or readable/error (refused, or the peer already answered).
            self.setWriteInterest(false)
            self.connectFinished()
            guard events & Poller.readEvents != 0 else { return false }
        }
        var more = false
        if events & Poller.readEvents != 0, self.state != .closed { more = self.readable() }
        if events & Poller.writable != 0, self.state != .closed { self.flushOutput() }
        return more
    }
}
