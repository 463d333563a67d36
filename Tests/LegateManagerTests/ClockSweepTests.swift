import LegateCore
import LegateNet
import LegateStore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// Every expiry runs on the injected clock: moved by the test, swept by the test, no waiting.
@Suite struct ClockSweepTests {
    @Test func aTokenIsRevokedWhenItsExpiryArrivesOnTheClock() throws {
        let fixture = try ServiceFixture()
        let tokens = fixture.services.tokenService
        let expiresAt = fixture.clock.unixMilliseconds() + 60_000
        let (record, _) = try tokens.create(
            accountID: ServiceFixture.accountID, name: "brief", actor: "admin:test", expiresAt: expiresAt)
        fixture.clock.advance(by: .milliseconds(59_999))
        #expect(tokens.sweepExpired(now: fixture.clock.unixMilliseconds()).isEmpty)
        #expect(fixture.services.tokens.entry(tokenID: record.id)?.status == .active)
        fixture.clock.advance(by: .milliseconds(1))
        let reports = tokens.sweepExpired(now: fixture.clock.unixMilliseconds())
        #expect(reports.map(\.tokenID) == [record.id])
        #expect(fixture.services.tokens.entry(tokenID: record.id)?.status == .revoked)
        let stored = try fixture.store.token(id: record.id)
        #expect(stored?.status == .revoked && stored?.revokedAt == expiresAt)
        let audit = try fixture.store.auditRecords(accountID: ServiceFixture.accountID, limit: 10)
        #expect(audit.contains { $0.action == "token.revoke" && $0.actor == "system:expiry" })
        #expect(tokens.sweepExpired(now: fixture.clock.unixMilliseconds()).isEmpty, "revoked once")
    }

    @Test func theOldTokenOfARotationIsRevokedWhenTheOverlapEndsOnTheClock() throws {
        let fixture = try ServiceFixture()
        let tokens = fixture.services.tokenService
        let (old, _) = try tokens.create(accountID: ServiceFixture.accountID, name: "ci", actor: "admin:test")
        let report = try tokens.rotate(id: old.id, actor: "admin:test", overlap: .seconds(300))
        #expect(report.token.name == "ci-2" && report.connected == 0)
        #expect(report.oldTokenRevokedAt == fixture.clock.unixMilliseconds() + 300_000)
        fixture.clock.advance(by: .seconds(299))
        #expect(tokens.sweepExpired(now: fixture.clock.unixMilliseconds()).isEmpty)
        fixture.clock.advance(by: .seconds(1))
        #expect(tokens.sweepExpired(now: fixture.clock.unixMilliseconds()).map(\.tokenID) == [old.id])
        #expect(fixture.services.tokens.entry(tokenID: old.id)?.status == .revoked)
        #expect(fixture.services.tokens.entry(tokenID: report.token.id)?.status == .active)
    }

    @Test func aPendingRegistrationIsRejectedWhenItsWindowEndsOnTheClock() throws {
        let fixture = try ServiceFixture { $0.pendingExpiry = .seconds(3600) }
        let expiresAt = fixture.clock.unixMilliseconds() + 3_600_000
        let pending = fixture.delegate("del-1", status: .pending, pendingExpiresAt: expiresAt)
        try fixture.store.apply([.upsertDelegate(pending)])
        fixture.services.registry.load([pending])
        let approvals = fixture.services.approvals
        fixture.clock.advance(by: .milliseconds(3_599_999))
        #expect(approvals.expirePending(now: fixture.clock.unixMilliseconds()).isEmpty)
        #expect(fixture.services.registry.record(id: "del-1")?.status == .pending)
        fixture.clock.advance(by: .milliseconds(1))
        #expect(approvals.expirePending(now: fixture.clock.unixMilliseconds()) == ["del-1"])
        let record = fixture.services.registry.record(id: "del-1")
        #expect(record?.status == .rejected && record?.decisionReason == "approval not given within 1 h")
        #expect(try fixture.store.delegate(id: "del-1")?.status == .rejected)
        #expect(try fixture.auditActions().contains("delegate.reject"))
    }
}
