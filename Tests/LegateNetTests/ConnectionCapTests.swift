#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import LegateTestSupport
import Testing
@testable import LegateNet

/// Above its cap, or out of descriptors, the listener answers or closes every connection at once: nothing waits
/// in the kernel backlog without a word.
@Suite struct ConnectionCapTests {
    @Test func capIsDerivedFromTheOpenFileLimit() throws {
        #expect(System.reservedDescriptors(openFileLimit: 1024) == 64)
        #expect(System.connectionCap(openFileLimit: 1024) == 960)
        #expect(System.connectionCap(openFileLimit: 20_000) == 19_600)
        #expect(System.connectionCap(openFileLimit: 10) == 1)
        let files = try TestCertificates.make()
        let listener = Listener(host: "127.0.0.1", port: 0, tls: try TestCertificates.serverContext(files),
                                group: EventLoopGroup(loopCount: 1), limits: .defaults, maxConnections: Int.max,
                                makeHandler: { _ in Recorder() })
        #expect(listener.connectionCap == System.connectionCap(openFileLimit: System.openFileLimit))
        #expect(listener.refusalCapacity >= 8)
    }

    @Test func overTheCapAConnectionIsAnsweredAfterTLS() throws {
        let files = try TestCertificates.make()
        let events = Mailbox<ListenerEvent>()
        let listener = Listener(
            host: "127.0.0.1", port: 0, tls: try TestCertificates.serverContext(files), group: EventLoopGroup(loopCount: 1),
            limits: .defaults, maxConnections: 2,
            refusalHandler: { _ in
                Recorder(onActive: { _, connection in
                    connection.write(Array("unavailable: at capacity".utf8))
                    connection.close(flushFirst: true)
                })
            },
            onEvent: { events.put($0) },
            makeHandler: { _ in Recorder() })
        let port = try listener.start()
        defer { listener.stop() }
        let tls = try TestCertificates.clientContext(files)
        let loop = EventLoop()
        var open: [Connection] = []
        for _ in 0..<2 {
            guard case .success(let connection) = connectSync(port: port, tls: tls, loop: loop, handler: Recorder())
            else {
                Issue.record("connect failed")
                return
            }
            open.append(connection)
        }
        let refused = Recorder(expectBytes: 24)
        guard case .success = connectSync(port: port, tls: tls, loop: loop, handler: refused) else {
            Issue.record("the connection over the cap did not complete TLS")
            return
        }
        #expect(wait(refused.receivedSignal))
        #expect(wait(refused.closedSignal))
        #expect(String(decoding: refused.snapshot.received, as: UTF8.self) == "unavailable: at capacity")
        #expect(listener.refusedCount == 1)
        #expect(listener.connectionCount == 2)
        // A second refusal in the same burst is not reported again.
        let again = Recorder(expectBytes: 24)
        guard case .success = connectSync(port: port, tls: tls, loop: loop, handler: again) else {
            Issue.record("the second connection over the cap did not complete TLS")
            return
        }
        #expect(wait(again.closedSignal))
        #expect(events.all == [.connectionCapReached(cap: 2, openFileLimit: System.openFileLimit)])
        _ = open
    }

    /// In a child process with its descriptor table full: pending connections are closed at once (spare
    /// descriptor), the exhaustion is reported once for the burst, and recovery once when serving resumes.
    @Test func outOfDescriptorsClosesPendingConnectionsAndReportsOncePerBurst() async {
        await #expect(processExitsWith: .success) {
            let files = try TestCertificates.make()
            let events = Mailbox<ListenerEvent>()
            let listener = Listener(
                host: "127.0.0.1", port: 0, tls: try TestCertificates.serverContext(files), group: EventLoopGroup(loopCount: 1),
                limits: .defaults, maxConnections: 100, onEvent: { events.put($0) }, makeHandler: { _ in Recorder() })
            let port = try listener.start()
            var limit = rlimit()
            _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            limit.rlim_cur = 512
            guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(10) }
            var fillers: [Int32] = []
            for _ in 0..<1024 {
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if fd < 0 { break }
                fillers.append(fd)
            }
            guard errno == EMFILE, fillers.count > 16 else { exit(11) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var clients: [Int32] = []
            // Another thread of the process may take a freed slot at any moment: free one filler per socket
            // wanted (more if a slot was taken meanwhile), then fill the table again before connecting.
            while clients.count < 3 {
                guard let filler = fillers.popLast() else { exit(12) }
                close(filler)
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                if fd >= 0 { clients.append(fd) }
            }
            while true {
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if fd < 0 { break }
                fillers.append(fd)
            }
            for fd in clients {
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard connected == 0 else { exit(13) }
                clients.append(fd)
            }
            for fd in clients {
                var byte: UInt8 = 0
                let n = read(fd, &byte, 1)
                // End of stream or a reset: the connection was closed, not left waiting in the backlog.
                guard n == 0 || (n < 0 && errno == ECONNRESET) else { exit(14) }
            }
            guard case .descriptorsExhausted(let code, let openFiles) = events.next(timeout: .seconds(5)),
                  code == EMFILE, openFiles == 512 else { exit(15) }
            for fd in fillers.suffix(8) { close(fd) }
            fillers.removeLast(8)
            let late = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(late, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { exit(16) }
            guard events.next(timeout: .seconds(5)) == .descriptorsRecovered(closedUnserved: 3) else { exit(17) }
            guard events.all.isEmpty else { exit(18) }
            // The recovery is reported just before the connection is counted.
            let deadline = ContinuousClock.now + .seconds(5)
            while listener.connectionCount != 1 {
                guard ContinuousClock.now < deadline else { exit(19) }
                _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(1))
            }
            exit(0)
        }
    }
}
