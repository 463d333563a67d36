import Foundation
import LegateNet

/// A blocking plain TCP client on 127.0.0.1, for hostile-peer tests: garbage where a TLS ClientHello belongs,
/// a handshake driven by hand through an in-memory `TLSSession`, or silence. Reads time out after
/// `receiveTimeout`, so no test waits forever.
public final class PlainSocket {
    /// The connected socket.
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`; nil if the connection is refused.
    public init?(port: Int, receiveTimeout: Duration = .seconds(10)) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        let (seconds, attoseconds) = receiveTimeout.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    deinit { Glibc.close(self.fd) }

    /// Connects, sends `bytes`, and returns true if the server closed the connection within `timeout` (reads
    /// return 0 or a reset) without sending anything back but TLS alerts.
    public static func sendAndAwaitClose(port: Int, bytes: [UInt8], timeout: Duration = .seconds(10)) -> Bool {
        guard let socket = PlainSocket(port: port, receiveTimeout: timeout) else { return false }
        socket.send(bytes)
        return socket.awaitClose(timeout: timeout)
    }

    /// Writes all of `bytes` (stops early if the peer is gone).
    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Reads until end of stream, an error or the receive timeout; at most 1 MiB.
    public func readToEnd() -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while all.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            all.append(contentsOf: buffer[0..<count])
        }
        return all
    }

    /// True once the peer closes (a read returns 0 or a reset) within `timeout`; what it sends first is dropped.
    public func awaitClose(timeout: Duration = .seconds(10)) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
        return false
    }

    /// Runs a client TLS handshake over this socket with an in-memory session; false if it fails.
    public func handshake(_ session: TLSSession) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var result = session.handshake(feeding: UnsafeRawBufferPointer(start: nil, count: 0))
        for _ in 0..<20 {
            self.send(session.takeOutput())
            if result == .complete { return true }
            guard result == .wantRead else { return false }
            let count = buffer.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return false }
            result = buffer[0..<count].withUnsafeBytes { session.handshake(feeding: $0) }
        }
        return false
    }
}
