internal import COpenSSL
internal import COpenSSLShims
internal import Foundation

/// The outcome of one TLSSession step (SSL_get_error mapped to what the caller must do).
public enum TLSResult: Equatable, Sendable {
    /// The step finished (handshake done, or bytes were produced/consumed).
    case complete
    /// More ciphertext from the peer is needed.
    case wantRead
    /// The peer sent close_notify.
    case closed
    /// The session failed and must be torn down.
    case failed(TLSError)
}

/// The custom BIO method: reads from the slice being fed, writes into the session's output array.
nonisolated(unsafe) private let bioMethod: OpaquePointer? = {
    guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "legate") else { return nil }
    _ = BIO_meth_set_create(method) { bio in
        BIO_set_init(bio, 1)
        return 1
    }
    _ = BIO_meth_set_write(method) { bio, data, length in
        guard let bio, let data, length > 0, let raw = BIO_get_data(bio) else { return 0 }
        let session = Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue()
        legate_BIO_clear_retry_flags(bio)
        session.output.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(length)))
        return length
    }
    _ = BIO_meth_set_read(method) { bio, data, length in
        guard let bio, let data, length > 0, let raw = BIO_get_data(bio) else { return 0 }
        let session = Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue()
        legate_BIO_clear_retry_flags(bio)
        let available = session.input.count - session.inputOffset
        guard available > 0, let base = session.input.baseAddress else {
            legate_BIO_set_retry_read(bio)
            return -1
        }
        let count = min(available, Int(length))
        UnsafeMutableRawPointer(data).copyMemory(from: base + session.inputOffset, byteCount: count)
        session.inputOffset += count
        return Int32(count)
    }
    _ = BIO_meth_set_ctrl(method) { _, command, _, _ in
        command == BIO_CTRL_FLUSH ? 1 : 0
    }
    return method
}()

/// OpenSSL over bytes in, bytes out, with no file descriptor (testable in memory).
///
/// Not thread-safe: owned by one event loop. Ciphertext to send accumulates in `output`; the caller
/// drains it. Input is only borrowed during `feed`, so an idle session holds no buffer of ours.
public final class TLSSession {
    let ssl: OpaquePointer
    /// Ciphertext produced by OpenSSL and not yet taken by the caller.
    public internal(set) var output: [UInt8] = []
    var input = UnsafeRawBufferPointer(start: nil, count: 0)
    var inputOffset = 0
    /// Ciphertext that arrived after the handshake completed inside `handshake(feeding:)` (rare).
    private var carry: [UInt8] = []
    /// True once the handshake finished.
    public private(set) var isHandshakeComplete = false

    /// Keeps the context (and its ALPN list used by callbacks) alive as long as the session.
    private let context: AnyObject

    private init(ssl: OpaquePointer, context: AnyObject) throws(TLSError) {
        self.ssl = ssl
        self.context = context
        guard let method = bioMethod, let bio = BIO_new(method) else {
            SSL_free(ssl)
            throw TLSError.call("BIO_new")
        }
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        SSL_set_bio(ssl, bio, bio)
    }

    /// A server session on `context`.
    public convenience init(server context: TLSServerContext) throws(TLSError) {
        guard let ssl = SSL_new(context.ctx) else { throw TLSError.call("SSL_new") }
        try self.init(ssl: ssl, context: context)
        SSL_set_accept_state(ssl)
    }

    /// A client session on `context`, verifying `serverName` (host name or IP literal) when given.
    public convenience init(client context: TLSClientContext, serverName: String?, sessionKey: String? = nil)
        throws(TLSError)
    {
        guard let ssl = SSL_new(context.ctx) else { throw TLSError.call("SSL_new") }
        try self.init(ssl: ssl, context: context)
        SSL_set_connect_state(ssl)
        if let serverName, !serverName.isEmpty {
            let param = SSL_get0_param(ssl)
            if isIPLiteral(serverName) {
                guard X509_VERIFY_PARAM_set1_ip_asc(param, serverName) == 1 else {
                    throw TLSError.call("X509_VERIFY_PARAM_set1_ip_asc(\(serverName))")
                }
            } else {
                _ = legate_SSL_set_tlsext_host_name(ssl, serverName)
                guard X509_VERIFY_PARAM_set1_host(param, serverName, 0) == 1 else {
                    throw TLSError.call("X509_VERIFY_PARAM_set1_host(\(serverName))")
                }
            }
        }
        if let sessionKey { context.applySession(to: ssl, for: sessionKey) }
    }

    deinit {
        // Detach first so a late callback can never see a freed session.
        if let bio = SSL_get_rbio(self.ssl) { BIO_set_data(bio, nil) }
        SSL_free(self.ssl)
    }

    /// Drives the handshake with `bytes` from the peer (may be empty to start a client).
    public func handshake(feeding bytes: UnsafeRawBufferPointer) -> TLSResult {
        if !self.carry.isEmpty {
            let joined = self.carry + Array(bytes)
            self.carry = []
            return joined.withUnsafeBytes { self.handshake(feeding: $0) }
        }
        self.input = bytes
        self.inputOffset = 0
        defer { self.input = UnsafeRawBufferPointer(start: nil, count: 0) }
        ERR_clear_error()
        let rc = SSL_do_handshake(self.ssl)
        if rc == 1 {
            self.isHandshakeComplete = true
            // Records after the handshake (e.g. TLS 1.3 session tickets) wait for the next `feed`.
            if self.inputOffset < self.input.count {
                self.carry = Array(UnsafeRawBufferPointer(rebasing: self.input[self.inputOffset...]))
            }
            return .complete
        }
        return self.mapError(rc, handshaking: true)
    }

    /// Feeds ciphertext (the handshake continues first if needed) and delivers each plaintext chunk,
    /// decrypted into `scratch`, to `deliver`. Returns `.wantRead` when all input was consumed.
    public func feed(_ bytes: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
                     deliver: (UnsafeRawBufferPointer) -> Bool) -> TLSResult {
        if !self.carry.isEmpty {
            let joined = self.carry + Array(bytes)
            self.carry = []
            return joined.withUnsafeBytes { self.feed($0, scratch: scratch, deliver: deliver) }
        }
        self.input = bytes
        self.inputOffset = 0
        defer { self.input = UnsafeRawBufferPointer(start: nil, count: 0) }
        if !self.isHandshakeComplete {
            ERR_clear_error()
            let rc = SSL_do_handshake(self.ssl)
            guard rc == 1 else { return self.mapError(rc, handshaking: true) }
            self.isHandshakeComplete = true
            if self.inputOffset >= self.input.count && SSL_pending(self.ssl) == 0 { return .complete }
        }
        while true {
            Self.clearErrorQueue()
            let rc = SSL_read(self.ssl, scratch.baseAddress, Int32(clamping: scratch.count))
            if rc > 0 {
                guard deliver(UnsafeRawBufferPointer(start: scratch.baseAddress, count: Int(rc))) else {
                    return .complete
                }
                continue
            }
            return self.mapError(rc, handshaking: false)
        }
    }

    /// Encrypts `bytes` into `output`. Never blocks: the BIO always accepts.
    public func write(_ bytes: UnsafeRawBufferPointer) -> TLSResult {
        guard !bytes.isEmpty else { return .complete }
        Self.clearErrorQueue()
        let rc = SSL_write(self.ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if rc == Int32(clamping: bytes.count) { return .complete }
        return self.mapError(rc, handshaking: false)
    }

    /// Empties this thread's OpenSSL error queue, as SSL_get_error needs before every I/O call; looks first, because
    /// ERR_clear_error walks every slot of the queue even when it is empty (about 800 instructions, three times per
    /// heartbeat).
    @inline(__always)
    private static func clearErrorQueue() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// Queues a close_notify into `output`.
    public func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(self.ssl)
        ERR_clear_error()
    }

    /// Takes the pending ciphertext out, leaving `output` empty without capacity.
    public func takeOutput() -> [UInt8] {
        let out = self.output
        self.output = []
        return out
    }

    /// The ALPN protocol agreed in the handshake.
    public var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(self.ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The peer certificate's subject, one line (nil without a certificate).
    public var peerCertificateSubject: String? {
        guard let cert = SSL_get1_peer_certificate(self.ssl) else { return nil }
        defer { X509_free(cert) }
        guard let name = X509_get_subject_name(cert), let line = X509_NAME_oneline(name, nil, 0) else { return nil }
        defer { CRYPTO_free(line, #fileID, #line) }
        return String(cString: line)
    }

    /// True when this session resumed an earlier one.
    public var isResumed: Bool { SSL_session_reused(self.ssl) == 1 }

    /// A resumable session (one reference for the caller), or nil.
    func resumableSession() -> OpaquePointer? {
        guard let session = SSL_get1_session(self.ssl) else { return nil }
        if SSL_SESSION_is_resumable(session) == 1 { return session }
        SSL_SESSION_free(session)
        return nil
    }

    private func mapError(_ rc: Int32, handshaking: Bool) -> TLSResult {
        switch SSL_get_error(self.ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantRead
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        default:
            let verify = SSL_get_verify_result(self.ssl)
            if verify != Int(X509_V_OK), let text = X509_verify_cert_error_string(verify) {
                ERR_clear_error()
                return .failed(.verificationFailed(String(cString: text)))
            }
            let queue = TLSError.drainQueue()
            return .failed(handshaking ? .handshakeFailed(queue) : .protocolError(queue))
        }
    }
}

/// True for an IPv4 or IPv6 literal.
func isIPLiteral(_ host: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
}
