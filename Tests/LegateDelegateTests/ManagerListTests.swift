import Foundation
import LegateAuth
import LegateCore
import LegateDelegate
import LegateNet
import LegateWire
import Testing

/// A delegate given several managers (sharing one store) moves to the next one when its connection is lost or
/// a manager cannot be reached, and keeps its identity across them.
@Suite struct ManagerListTests {
    /// Each fake manager has its own CA: the delegate trusts a bundle of all of them.
    static func caBundle(_ managers: [FakeManager]) throws -> String {
        let path = NSTemporaryDirectory() + "legate-ca-bundle-" + UUID().uuidString + ".pem"
        let pem = try managers.map { try String(contentsOfFile: $0.caFile, encoding: .utf8) }.joined(separator: "\n")
        try pem.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func configuration(_ managers: [FakeManager], first port: Int? = nil) throws -> DelegateConfiguration {
        var configuration = DelegateConfiguration(
            managerHost: "127.0.0.1", managerPort: port ?? managers[0].port, caFile: try Self.caBundle(managers),
            accountID: "acc_1", token: DelegateToken.generate(), name: "d1", hostname: "h1")
        configuration.otherManagers = managers.dropFirst(port == nil ? 1 : 0).map {
            ManagerEndpoint(host: "127.0.0.1", port: $0.port)
        }
        configuration.serverName = "localhost"
        configuration.backoff = ReconnectBackoff(initialDelay: .milliseconds(10), maximumDelay: .milliseconds(50))
        return configuration
    }

    @Test func aLostConnectionMovesTheDelegateToTheNextManagerWithTheSameIdentity() async throws {
        let first = try FakeManager()
        let second = try FakeManager()
        defer {
            first.stop()
            second.stop()
        }
        let configuration = try Self.configuration([first, second])
        let client = DelegateClient(
            configuration: configuration, tls: try DelegateClient.makeTLSContext(configuration),
            loop: first.group.next()
        ) { _ in }
        client.start()
        defer {
            client.stop()
            try? FileManager.default.removeItem(atPath: configuration.caFile)
        }
        let register = CallMethod.register.rawValue
        #expect(await first.frames.wait { $0.contains { $0.method == register } })
        first.dropConnection()
        #expect(await second.frames.wait { $0.contains { $0.method == register } })
        let before = try #require(first.requests(.register, as: RegisterRequest.self).first)
        let after = try #require(second.requests(.register, as: RegisterRequest.self).first)
        #expect(after.instanceID == before.instanceID && after.instanceID == configuration.instanceID)
        #expect(first.connections.all.count == 1, "the next attempt went to the other manager, not back")
    }

    @Test func anUnreachableFirstManagerIsSkipped() async throws {
        let reachable = try FakeManager()
        defer { reachable.stop() }
        // A port nothing listens on: bound for a moment by a listener that is closed again.
        let closed = try FakeManager()
        let deadPort = closed.port
        closed.stop()
        let configuration = try Self.configuration([reachable], first: deadPort)
        let client = DelegateClient(
            configuration: configuration, tls: try DelegateClient.makeTLSContext(configuration),
            loop: reachable.group.next()
        ) { _ in }
        client.start()
        defer {
            client.stop()
            try? FileManager.default.removeItem(atPath: configuration.caFile)
        }
        let register = CallMethod.register.rawValue
        #expect(await reachable.frames.wait { $0.contains { $0.method == register } })
    }
}
