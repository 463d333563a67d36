import Foundation
import LegateCore
import LegateDelegate
import LegateNet
import LegateStore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// A manager on PostgreSQL whose server goes away while it runs: writes are answered UNAVAILABLE (retryable),
/// connected delegates keep heartbeating from memory, and it recovers by itself once the server is back.
@Suite(.serialized) struct DatabaseLossTests {
    @Test func aLostDatabaseRefusesWritesRetryablyKeepsHeartbeatsAndRecovers() throws {
        // A cluster of its own: stopping the shared one would break the tests running beside this one.
        let cluster = try PostgreSQLTestCluster()
        defer { try? cluster.stop() }
        let url = try cluster.newStoreURL()
        let harness = try ManagerHarness { $0.storeURL = url }
        let (delegate, events) = try harness.startDelegate(harness.delegateConfiguration(name: "steady"))
        defer { delegate.stop() }
        #expect(events.first { if case .registered = $0 { true } else { false } } != nil)

        try cluster.stop()
        // A new registration cannot be recorded: UNAVAILABLE, which the delegate retries.
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        raw.send(harness.registerFrame(instanceID: "ins-during-outage"))
        #expect(raw.nextError()?.code == .unavailable)
        // Admin writes are refused the same way.
        let services = harness.manager.services
        #expect(throws: AdminError.self) {
            _ = try services.tokenService.create(accountID: harness.accountID, name: "during", actor: "test")
        }
        // The connected delegate keeps beating, answered from memory (several beats of 100 ms).
        while events.next(timeout: .milliseconds(1)) != nil {}
        #expect(events.waitForCount(5, timeout: .seconds(10)) {
            if case .heartbeatAcknowledged = $0 { true } else { false }
        })
        #expect(!events.all.contains { if case .disconnected = $0 { true } else { false } })

        try cluster.start()
        // Back without a restart: the next writes reconnect.
        var created: Result<String, AdminError> = .failure(.unavailable("not tried"))
        for _ in 0..<50 {
            do throws(AdminError) {
                created = .success(
                    try services.tokenService.create(accountID: harness.accountID, name: "after", actor: "test")
                        .record.id)
                break
            } catch {
                created = .failure(error)
                _ = events.next(timeout: .milliseconds(100))  // a bounded pause between attempts
            }
        }
        #expect((try? created.get()) != nil, "\(created)")
        let again = try #require(harness.rawClient())
        #expect(again.hello() != nil)
        again.send(harness.registerFrame(instanceID: "ins-after-outage"))
        let answer = try #require(again.frames.first { $0.type == .response || $0.type == .error })
        #expect(answer.type == .response)
    }
}
