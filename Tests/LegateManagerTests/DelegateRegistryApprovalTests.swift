import LegateCore
import LegateManager
import Testing

/// The registry's approval bookkeeping: pending state, pending expiry, update and remove.
@Suite struct DelegateRegistryApprovalTests {
    static func record(_ id: String, _ status: DelegateStatus, expiresAt: Int64? = nil) -> DelegateRecord {
        DelegateRecord(
            id: id, accountID: "acc", instanceID: "ins-\(id)", name: id, hostname: "h", ipAddress: "127.0.0.1",
            version: "1", tags: [], taskTypes: [], profile: "default", tokenID: "tok", status: status,
            firstSeenAt: 1, pendingExpiresAt: expiresAt)
    }

    @Test func pendingStateFollowsUpdates() {
        let registry = DelegateRegistry()
        registry.load([Self.record("a", .active), Self.record("p", .pending, expiresAt: 100)])
        #expect(registry.record(id: "a")?.status == .active)
        #expect(registry.record(id: "p")?.status == .pending)
        #expect(registry.expiredPending(now: 99).isEmpty)
        #expect(registry.expiredPending(now: 100).map(\.id) == ["p"])
        var approved = Self.record("p", .active)
        approved.pendingExpiresAt = nil
        #expect(registry.update(approved))
        #expect(registry.record(id: "p")?.status == .active)
        #expect(registry.expiredPending(now: .max).isEmpty)
        #expect(!registry.update(Self.record("ghost", .active)), "an unknown delegate is not created by update")
        #expect(registry.record(id: "ghost") == nil)
    }

    @Test func removeForgetsTheRecordAndItsInstance() {
        let registry = DelegateRegistry()
        registry.load([Self.record("p", .pending, expiresAt: 5)])
        #expect(registry.remove(delegateID: "p")?.id == "p")
        #expect(registry.record(id: "p") == nil && registry.record(accountID: "acc", instanceID: "ins-p") == nil)
        #expect(registry.expiredPending(now: .max).isEmpty && registry.record(id: "p") == nil)
        #expect(registry.remove(delegateID: "p") == nil)
    }
}
