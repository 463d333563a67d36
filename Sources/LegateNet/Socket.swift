#if canImport(Glibc)
internal import Glibc
#endif

/// Thin syscall wrappers over a non-blocking fd: EINTR retried, EAGAIN -> nil, errors -> NetError.
enum Socket {
    /// read(2); nil = would block, 0 = end of stream.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(NetError) -> Int? {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw NetError.fromErrno("read", code)
        }
    }

    /// send(2) with MSG_NOSIGNAL (a closed peer gives EPIPE, never SIGPIPE); nil = would block.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(NetError) -> Int? {
        while true {
            let n = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw NetError.fromErrno("send", code)
        }
    }

    /// Sets O_NONBLOCK and FD_CLOEXEC.
    static func makeNonBlocking(_ fd: Int32) throws(NetError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw NetError.fromErrno("fcntl") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// TCP_NODELAY: heartbeats are small and latency matters.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Resolves host:port into socket addresses (IP literals need no DNS).
    static func resolve(host: String, port: Int, passive: Bool) throws(NetError) -> [(Int32, sockaddr_storage, socklen_t)] {
        guard (0...65535).contains(port) else {
            throw NetError.badAddress(host: host, port: port, reason: "port outside 0...65535")
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        if isIPLiteral(host) { hints.ai_flags |= AI_NUMERICHOST }
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let list else {
            throw NetError.badAddress(host: host, port: port, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }
        var out: [(Int32, sockaddr_storage, socklen_t)] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                var storage = sockaddr_storage()
                let length = min(Int(entry.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length)) }
                out.append((entry.pointee.ai_family, storage, socklen_t(length)))
            }
            cursor = entry.pointee.ai_next
        }
        guard !out.isEmpty else { throw NetError.badAddress(host: host, port: port, reason: "no address") }
        return out
    }

    /// "ip:port" or "[ip6]:port" for a socket address.
    static func describe(_ storage: sockaddr_storage, _ length: socklen_t) -> String {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count),
                            NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard rc == 0 else { return "?" }
        let hostText = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let serviceText = String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return storage.ss_family == sa_family_t(AF_INET6) ? "[\(hostText)]:\(serviceText)" : "\(hostText):\(serviceText)"
    }

    /// The peer address of a connected socket.
    static func peerName(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return rc == 0 ? describe(storage, length) : "?"
    }

    /// The bound port of a socket.
    static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return 0 }
        return withUnsafeBytes(of: &storage) { raw in
            // sin_port and sin6_port both sit at offset 2, big-endian.
            Int(UInt16(raw[2]) << 8 | UInt16(raw[3]))
        }
    }
}
