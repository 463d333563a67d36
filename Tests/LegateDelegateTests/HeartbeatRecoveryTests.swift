import Foundation
import LegateAuth
import LegateCore
import LegateDelegate
import LegateNet
import LegateWire
import Testing

/// A delegate whose heartbeat JWT is refused (UNAUTHENTICATED on the call) re-mints and beats again on the same
/// connection instead of stopping.
@Suite struct HeartbeatRecoveryTests {
    @Test func aRefusedHeartbeatIsRetriedWithAFreshJWTOnTheSameConnection() async throws {
        let manager = try FakeManager()
        defer { manager.stop() }
        manager.heartbeatsToRefuse.withLock { $0 = 1 }
        var configuration = DelegateConfiguration(
            managerHost: "127.0.0.1", managerPort: manager.port, caFile: manager.caFile, accountID: "acc_1",
            token: DelegateToken.generate(), name: "d1", hostname: "h1")
        configuration.serverName = "localhost"
        let events = Recorder<DelegateEvent>()
        let client = DelegateClient(
            configuration: configuration, tls: try DelegateClient.makeTLSContext(configuration),
            loop: manager.group.next()
        ) { events.append($0) }
        client.start()
        defer { client.stop() }
        let beat = CallMethod.heartbeat.rawValue
        #expect(await manager.frames.wait { frames in frames.filter { $0.method == beat }.count >= 3 })
        let jwts = manager.requests(.heartbeat, as: Heartbeat.self).map(\.jwt)
        try #require(jwts.count >= 3)
        #expect(jwts[0] != jwts[1], "the beat after the refusal carries a freshly minted JWT")
        #expect(jwts[1] == jwts[2], "the fresh JWT is reused while it is valid")
        #expect(manager.connections.all.count == 1, "the delegate stayed on its connection")
        #expect(events.all.contains { if case .heartbeatRefused = $0 { true } else { false } })
        #expect(!events.all.contains { if case .stopped = $0 { true } else { false } })
    }
}
