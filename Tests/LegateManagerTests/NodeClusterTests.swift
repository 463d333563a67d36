import LegateCore
import LegateStore
import LegateTestSupport
import Synchronization
import Testing

@testable import LegateManager

/// The node's lease: renewed, other nodes judged only after renewing a whole lease, and a lease found lost
/// (another node took this one for dead) reported so the sessions it holds are written again.
@Suite struct NodeClusterTests {
    static func cluster(_ store: InMemoryStateStore, clock: ManualClock, id: String = "node-a") -> NodeCluster {
        var configuration = NodeConfiguration()
        configuration.lease = .seconds(10)
        return NodeCluster(
            nodeID: id, address: "a:1", configuration: configuration, store: store, clock: clock,
            log: InMemoryLogSink())
    }

    @Test func aLeaseFoundLostIsReportedOnce() throws {
        let store = InMemoryStateStore()
        let clock = ManualClock(unixMilliseconds: 1_000_000)
        let cluster = Self.cluster(store, clock: clock)
        let lost = Mutex(0)
        cluster.onLeaseLost.withLock { $0 = { lost.withLock { $0 += 1 } } }
        try cluster.renew()
        try cluster.renew()
        #expect(lost.withLock { $0 } == 0, "the first registration is not a lost lease")
        _ = try store.removeExpiredNodes(lastSeenBefore: .max, keeping: "node-b", now: clock.unixMilliseconds())
        try cluster.renew()
        try cluster.renew()
        #expect(lost.withLock { $0 } == 1)
    }

    @Test func othersAreJudgedOnlyAfterRenewingForAWholeLease() throws {
        let store = InMemoryStateStore()
        let clock = ManualClock(unixMilliseconds: 1_000_000)
        try store.renewNode(NodeRecord(id: "node-b", address: "b:1", startedAt: 0, lastSeenAt: 0))
        let cluster = Self.cluster(store, clock: clock)
        try cluster.renew()
        clock.advance(by: .seconds(9))
        try cluster.renew()
        #expect(try store.nodes().map(\.id) == ["node-a", "node-b"], "node-a has renewed for 9 s of a 10 s lease")
        clock.advance(by: .seconds(1))
        try cluster.renew()
        #expect(try store.nodes().map(\.id) == ["node-a"])
    }

    @Test func nobodyWaitsForANodeThatMissedItsRenewals() throws {
        let store = InMemoryStateStore()
        let clock = ManualClock(unixMilliseconds: 1_000_000)
        let cluster = Self.cluster(store, clock: clock)
        // node-b renewed 7 s ago: within the 10 s lease (still sent controls), but three 2 s renewals late.
        try store.renewNode(NodeRecord(id: "node-b", address: "b:1", startedAt: 0, lastSeenAt: 993_000))
        try cluster.renew()
        #expect(cluster.cachedPeers == ["node-b"])
        let controls = cluster.controls(.tokenRevoked, subject: "tok-1", peers: cluster.cachedPeers)
        try store.apply(controls.map { .insertNodeControl($0) })
        let started = ContinuousClock.now
        #expect(cluster.outcomes(of: controls, deadline: .seconds(30)).isEmpty)
        #expect(ContinuousClock.now - started < .seconds(10), "returned without waiting out the deadline")
    }
}
