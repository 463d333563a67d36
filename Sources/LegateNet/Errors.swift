#if canImport(Glibc)
internal import Glibc
#endif
internal import COpenSSL

/// Everything that can go wrong with sockets, deadlines and connection limits.
public enum NetError: Error, Equatable, CustomStringConvertible {
    /// A system call failed; carries its name, errno and the strerror text.
    case syscall(name: String, errno: Int32, message: String)
    /// The host string could not be resolved or parsed.
    case badAddress(host: String, port: Int, reason: String)
    /// The TLS handshake did not finish within the configured deadline.
    case handshakeTimeout(Duration)
    /// The peer did not read our output for this long.
    case writeTimeout(Duration)
    /// The peer closed the TCP connection without a TLS close_notify.
    case closedByPeer
    /// More output was queued than the hard cap allows.
    case writeBufferOverflow(bufferedBytes: Int, limit: Int)
    /// The listener is at maxConnections.
    case tooManyConnections(limit: Int)
    /// The TLS layer failed (handshake, verification, record).
    case tls(TLSError)
    /// The operation needs a state the connection is not in.
    case notConnected

    /// Builds `.syscall` from the current errno.
    static func fromErrno(_ name: String, _ code: Int32 = errno) -> NetError {
        .syscall(name: name, errno: code, message: String(cString: strerror(code)))
    }

    /// What happened, the limit, and what to do.
    public var description: String {
        switch self {
        case .syscall(let name, let code, let message):
            return "\(name) failed: \(message) (errno \(code))"
        case .badAddress(let host, let port, let reason):
            return "cannot use address \(host):\(port): \(reason); pass an IP literal or a resolvable host name"
        case .handshakeTimeout(let limit):
            return "TLS handshake not finished within \(limit); the peer is silent or not speaking TLS"
        case .writeTimeout(let limit):
            return "peer did not read for \(limit) with output pending; closed (raise limits.writeTimeout)"
        case .closedByPeer:
            return "connection closed by peer without TLS close_notify"
        case .writeBufferOverflow(let buffered, let limit):
            return "\(buffered) bytes of output buffered, above the hard cap \(limit); the peer does not read "
                + "(respect isWritable or raise limits.maxBufferedWriteBytes)"
        case .tooManyConnections(let limit):
            return "connection refused: maxConnections \(limit) reached; raise maxConnections or add managers"
        case .tls(let error):
            return "TLS: \(error)"
        case .notConnected:
            return "connection is not established or already closed"
        }
    }
}

/// Everything that can go wrong setting up or running TLS.
public enum TLSError: Error, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed; carries the call and the drained error queue text.
    case openSSL(call: String, queue: String)
    /// A certificate/key file could not be used.
    case file(path: String, problem: String)
    /// The handshake failed (verification, protocol mismatch, garbage bytes).
    case handshakeFailed(String)
    /// The peer certificate did not verify; carries OpenSSL's verify reason.
    case verificationFailed(String)
    /// A TLS record could not be processed after the handshake.
    case protocolError(String)

    /// Drains the thread's OpenSSL error queue into one line.
    static func drainQueue() -> String {
        var parts: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        for _ in 0..<16 {
            let code = ERR_get_error()
            if code == 0 { break }
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.isEmpty ? "no OpenSSL error queued" : parts.joined(separator: "; ")
    }

    /// `.openSSL` with the current queue.
    static func call(_ name: String) -> TLSError { .openSSL(call: name, queue: drainQueue()) }

    /// What happened and what to do.
    public var description: String {
        switch self {
        case .openSSL(let call, let queue):
            return "\(call) failed: \(queue)"
        case .file(let path, let problem):
            return "\(path): \(problem); check the path, its permissions and that it is PEM"
        case .handshakeFailed(let reason):
            return "handshake failed: \(reason)"
        case .verificationFailed(let reason):
            return "peer certificate rejected: \(reason); check the CA file and the server name"
        case .protocolError(let reason):
            return "TLS record error: \(reason)"
        }
    }
}
