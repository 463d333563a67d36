import LegateCore
@testable import LegateManager
import LegateTestSupport
import LegateWire
import Testing

/// Key ring membership is checked when it may have changed (a delegate decided or deleted, a token revoked), and
/// otherwise only by a slow periodic safety pass, not on every tick.
@Suite struct MembershipCheckTests {
    @Test func decisionsDeletesAndRevokesAskForACheckAndTheSafetyPassIsSlow() throws {
        let fixture = try ServiceFixture()
        let secrets = fixture.services.secrets
        secrets.reconcileSoon()
        #expect(secrets.checksRequested.load(ordering: .relaxed) == 0, "no ring: nothing to check")
        _ = try secrets.createRing(
            KeyRingCreateRequest(name: "prod", memberRule: KeyRingMemberRule(tags: ["vault"])), session: fixture.session)
        var requested = secrets.checksRequested.load(ordering: .relaxed)
        func asked(_ what: Comment) {
            let now = secrets.checksRequested.load(ordering: .relaxed)
            #expect(now > requested, what)
            requested = now
        }

        // The safety pass runs on the first tick, then not again until its interval passed on the clock.
        secrets.safetyPassIfDue()
        asked("first safety pass")
        for _ in 0..<20 { secrets.safetyPassIfDue() }
        #expect(secrets.checksRequested.load(ordering: .relaxed) == requested, "ticks within the interval ask nothing")
        fixture.clock.advance(by: SecretService.safetyPassInterval)
        secrets.safetyPassIfDue()
        asked("safety pass after its interval")

        // Membership events ask at once.
        let token = try fixture.services.tokenService.create(
            accountID: ServiceFixture.accountID, name: "t", actor: "test").record
        var pending = fixture.delegate("dlg-1", status: .pending)
        pending.tokenID = token.id
        try fixture.store.apply([.upsertDelegate(pending)])
        fixture.services.registry.load([pending])
        _ = try fixture.services.approvals.decide([pending], approve: true, reason: "", actor: "test")
        asked("a decision")
        try fixture.services.approvals.delete(id: "dlg-1", session: fixture.session)
        asked("a delete")
        _ = try fixture.services.tokenService.revoke(id: token.id, actor: "test")
        asked("a revoke")
    }
}
