#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LegateNet
import LegateWire
import LegateTestSupport
import Testing

/// The real `legate-manager` under a low open-file limit: its connection cap follows the limit, and a
/// connection above it is refused with UNAVAILABLE at once instead of waiting in the kernel backlog.
@Suite(.serialized) struct OpenFileLimitTests {
    static let limit = 200

    @Test(.enabled(if: KilledManagerTests.binariesBuilt)) func connectionsAboveTheCapAreRefusedWithUnavailable() throws {
        let directory = NSTemporaryDirectory() + "legate-nofile-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // `ulimit -n` lowers the hard limit too, so the manager cannot raise it back.
        let manager = try KilledManagerTests.ManagerProcess(
            dataDirectory: directory, arguments: ["--connection-rate", "0"], shellPrefix: "ulimit -n \(Self.limit) &&")
        defer { manager.kill() }
        let environment = try manager.adminEnvironment()
        let address = try #require(environment["LEGATE_MANAGER"])
        let caFile = try #require(environment["LEGATE_CA_FILE"])
        let port = try #require(Int(address.split(separator: ":").last ?? ""))

        let cap = System.connectionCap(openFileLimit: Self.limit)
        var sockets = (0..<cap).compactMap { _ in PlainSocket(port: port, receiveTimeout: .seconds(5)) }
        #expect(sockets.count == cap)
        // The cap's worth wait for their TLS handshake; one more is served only as far as a status: UNAVAILABLE
        // (retryable) after TLS, never a wait in the kernel backlog.
        let group = EventLoopGroup(loopCount: 1)
        let peer = try #require(ProtocolPeer.connect(port: port, caFile: caFile, loop: group.next()))
        let refusal = peer.nextError(timeout: .seconds(5))
        #expect(refusal?.code == .unavailable, "a connection above the cap gets UNAVAILABLE, got \(String(describing: refusal))")
        #expect(refusal?.message.contains("connection limit") == true)
        #expect(peer.waitUntilClosed(timeout: .seconds(5)))
        #expect(manager.isRunning)
        sockets.removeAll()  // closes them
        // The slots free up as the manager sees the closes; an admin call gets one (a few tries while it does).
        var status: Int32 = -1
        for _ in 0..<5 where status != 0 {
            status = try UnwritableLogTests.legatectl(["token", "list"], environment: environment)
        }
        #expect(status == 0)
    }
}
