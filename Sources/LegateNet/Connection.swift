internal import COpenSSL
internal import Dispatch
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

private let connectionIDs = Atomic<UInt64>(0)

/// One TLS connection: moves bytes between its socket and its TLSSession and calls its handler.
///
/// `@unchecked Sendable`: all mutable state is touched only on `loop.queue` (the sources, timers and
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
    let tls: TLSSession
    let limits: ConnectionLimits
    var state: State
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    /// The write source is created once and then suspended/resumed, never cancelled before close:
    /// cancelling one source on an fd while another is registered loses events in libdispatch on Linux.
    private var writeSourceResumed = false
    private var liveSources = 0
    private var sentOffset = 0
    private var pendingPlaintext: [UInt8] = []
    private var inReceive = false
    private var writable = true
    private var lastWriteProgress: ContinuousClock.Instant
    private var handshakeTimer: ScheduledTimer?
    private var writeTimer: ScheduledTimer?
    private var deadlineTimer: ScheduledTimer?
    /// Client side: completion of Connector.connect, called once.
    var onConnect: (@Sendable (Result<Connection, NetError>) -> Void)?
    /// Client side: where to remember the session for resumption.
    var sessionCache: (TLSClientContext, String)?
    /// Listener bookkeeping, called once when closed.
    var onClose: (@Sendable () -> Void)?

    init(fd: Int32, tls: TLSSession, loop: EventLoop, limits: ConnectionLimits, peerAddress: String, state: State) {
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
    public var negotiatedALPN: String? { self.tls.negotiatedALPN }
    /// The peer certificate's subject (mutual TLS), one line.
    public var peerCertificateSubject: String? { self.tls.peerCertificateSubject }
    /// True when the TLS session was resumed.
    public var isSessionResumed: Bool { self.tls.isResumed }
    /// Unsent ciphertext bytes.
    public var bufferedWriteBytes: Int { self.tls.output.count - self.sentOffset }

    // MARK: - Start

    /// Server side: start reading the ClientHello under the handshake deadline.
    func startAccepted() {
        self.armHandshakeTimer()
        self.startReading()
    }

    /// Client side: wait for the non-blocking connect, then send the ClientHello.
    func startConnecting() {
        self.armHandshakeTimer()
        // Register the read source first, as on the server side: adding a read source to an fd whose write
        // source just fired was seen to lose its events in libdispatch on Linux.
        self.startReading()
        self.ensureWriteSource()
    }

    private func armHandshakeTimer() {
        let limit = self.limits.handshakeTimeout
        self.handshakeTimer = self.loop.schedule(after: limit) { [weak self] in
            guard let self, self.state == .connecting || self.state == .handshaking else { return }
            self.finishClose(error: .handshakeTimeout(limit))
        }
    }

    private func startReading() {
        let source = DispatchSource.makeReadSource(fileDescriptor: self.fd, queue: self.loop.queue)
        source.setEventHandler { [unowned self] in self.readable() }
        source.setCancelHandler { [self] in self.sourceCancelled() }
        self.liveSources += 1
        self.readSource = source
        source.resume()
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
        self.handleTLS(self.tls.handshake(feeding: UnsafeRawBufferPointer(start: nil, count: 0)))
        self.flushOutput()
    }

    // MARK: - Reading

    private func readable() {
        if self.state == .connecting {
            // Readable before writable: the connect failed or the peer already answered.
            self.pauseWriteSource()
            self.connectFinished()
        }
        var rounds = 0
        while rounds < 16, self.state != .closed {
            rounds += 1
            let count: Int?
            do throws(NetError) {
                count = try Socket.read(self.fd, into: self.loop.readBuffer)
            } catch {
                self.finishClose(error: error)
                return
            }
            guard let count else { break }
            if count == 0 {
                self.finishClose(error: self.state == .closing ? nil : .closedByPeer)
                return
            }
            self.process(UnsafeRawBufferPointer(rebasing: self.loop.readBuffer[0..<count]))
            // A short read drained the socket: skip the read that would only return EAGAIN.
            if count < self.loop.readBuffer.count { break }
        }
        if self.state != .closed { self.flushOutput() }
    }

    private func process(_ bytes: UnsafeRawBufferPointer) {
        self.inReceive = true
        let result = self.tls.feed(bytes, scratch: self.loop.plaintextBuffer) { chunk in
            if self.state == .handshaking { self.handshakeCompleted() }
            guard self.state == .active, let handler = self.handler else { return self.state != .closed }
            handler.connection(self, received: chunk)
            return self.state != .closed
        }
        self.inReceive = false
        if self.state == .handshaking, self.tls.isHandshakeComplete { self.handshakeCompleted() }
        self.handleTLS(result)
        if self.state == .active, !self.pendingPlaintext.isEmpty { self.encryptPending() }
    }

    private func handleTLS(_ result: TLSResult) {
        switch result {
        case .complete, .wantRead:
            if self.state == .handshaking, self.tls.isHandshakeComplete { self.handshakeCompleted() }
        case .closed:
            // Peer's close_notify: answer with ours and close orderly.
            self.tls.shutdown()
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
        if self.inReceive || self.state != .active {
            self.pendingPlaintext.append(contentsOf: bytes)
            return
        }
        if case .failed(let error) = self.tls.write(bytes) {
            self.finishClose(error: .tls(error))
            return
        }
        self.flushOutput()
    }

    /// Queues plaintext (see `write(_: UnsafeRawBufferPointer)`).
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.write($0) }
    }

    private func encryptPending() {
        let pending = self.pendingPlaintext
        self.pendingPlaintext = []
        let result = pending.withUnsafeBytes { self.tls.write($0) }
        if case .failed(let error) = result { self.finishClose(error: .tls(error)) }
    }

    func flushOutput() {
        guard self.state != .closed else { return }
        if self.state == .active, !self.pendingPlaintext.isEmpty, !self.inReceive { self.encryptPending() }
        while self.sentOffset < self.tls.output.count {
            let offset = self.sentOffset
            let result = self.tls.output.withUnsafeBytes { raw -> Result<Int?, NetError> in
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
        if self.sentOffset >= self.tls.output.count {
            // Drained: release the buffer so idle connections hold no output memory.
            self.tls.output = []
            self.sentOffset = 0
            self.pauseWriteSource()
            self.writeTimer?.cancel()
            self.writeTimer = nil
        } else {
            if self.sentOffset >= 64 << 10 {
                self.tls.output.removeFirst(self.sentOffset)
                self.sentOffset = 0
            }
            let buffered = self.bufferedWriteBytes
            if buffered > self.limits.hardWriteCap {
                self.finishClose(error: .writeBufferOverflow(bufferedBytes: buffered, limit: self.limits.hardWriteCap))
                return
            }
            self.ensureWriteSource()
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

    private func pauseWriteSource() {
        guard let source = self.writeSource, self.writeSourceResumed else { return }
        source.suspend()
        self.writeSourceResumed = false
    }

    private func ensureWriteSource() {
        guard self.state != .closed else { return }
        if let source = self.writeSource {
            if !self.writeSourceResumed {
                self.writeSourceResumed = true
                source.resume()
            }
            return
        }
        let source = DispatchSource.makeWriteSource(fileDescriptor: self.fd, queue: self.loop.queue)
        source.setEventHandler { [unowned self] in
            if self.state == .connecting {
                self.pauseWriteSource()
                self.connectFinished()
            } else {
                self.flushOutput()
            }
        }
        source.setCancelHandler { [self] in self.sourceCancelled() }
        self.liveSources += 1
        self.writeSource = source
        self.writeSourceResumed = true
        source.resume()
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

    // MARK: - Deadlines

    /// Closes the connection with `.deadline(reason)` after `delay` unless cancelled or re-armed.
    public func armDeadline(after delay: Duration, reason: String) {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = self.loop.schedule(after: delay) { [weak self] in
            guard let self, self.state != .closed else { return }
            self.finishClose(error: .deadline(reason: reason))
        }
    }

    /// Cancels the deadline armed by `armDeadline`.
    public func cancelDeadline() {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
    }

    // MARK: - Closing

    /// Closes: with `flushFirst`, pending output and a TLS close_notify go out first (bounded by
    /// writeTimeout); the fd is closed after every dispatch source's cancel handler ran.
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
            self.tls.shutdown()
            self.state = .closing
            self.flushOutput()
        }
    }

    private func finishClose(error: NetError?) {
        guard self.state != .closed else { return }
        let wasConnecting = self.onConnect != nil
        self.state = .closed
        for timer in [self.handshakeTimer, self.writeTimer, self.deadlineTimer] { timer?.cancel() }
        self.handshakeTimer = nil
        self.writeTimer = nil
        self.deadlineTimer = nil
        if let (context, key) = self.sessionCache, self.tls.isHandshakeComplete,
           let session = self.tls.resumableSession() {
            context.storeSession(session, for: key)
        }
        self.sessionCache = nil
        self.tls.output = []
        self.pendingPlaintext = []
        self.readSource?.cancel()
        if let source = self.writeSource {
            if !self.writeSourceResumed { source.resume() }  // a suspended source never runs its cancel handler
            self.writeSourceResumed = true
            source.cancel()
        }
        self.readSource = nil
        self.writeSource = nil
        if self.liveSources == 0 { _ = Glibc.close(self.fd) }
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

    private func sourceCancelled() {
        self.liveSources -= 1
        if self.liveSources == 0, self.state == .closed { _ = Glibc.close(self.fd) }
    }
}
