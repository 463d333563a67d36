import Dispatch
import LegateCore
import LegateStore
import LegateTestSupport
import Testing

@testable import LegateManager

/// No lock is held across a durable write: while one admin call's write is slow, a second call on the same name
/// or delegate is answered at once instead of queueing behind it.
@Suite struct ReservationTests {
    @Test func aTokenNameBeingWrittenIsRefusedToASecondCreateWithoutWaiting() throws {
        let fixture = try ServiceFixture()
        let tokens = fixture.services.tokenService
        fixture.faults.pauseApplies()
        let first = Mailbox<Result<String, AdminError>>()
        DispatchQueue.global().async {
            do throws(AdminError) {
                first.put(
                    .success(try tokens.create(accountID: ServiceFixture.accountID, name: "ci", actor: "a").record.id))
            } catch {
                first.put(.failure(error))
            }
        }
        #expect(fixture.faults.waitForHeldApply(timeout: .seconds(10)), "the first create reached its write")
        let second = Mailbox<AdminError?>()
        DispatchQueue.global().async {
            do throws(AdminError) {
                _ = try tokens.create(accountID: ServiceFixture.accountID, name: "ci", actor: "b")
                second.put(nil)
            } catch {
                second.put(error)
            }
        }
        let refusal = second.next(timeout: .seconds(5))
        fixture.faults.resumeApplies()
        #expect(refusal??.code == .failedPrecondition, "answered while the first write was still held")
        let created = try #require(first.next()).get()
        let named = try fixture.store.tokens(accountID: ServiceFixture.accountID).filter { $0.name == "ci" }
        #expect(named.map(\.id) == [created])
    }

    @Test func aDelegateBeingDecidedIsSkippedByASecondDecisionWithoutWaiting() throws {
        let fixture = try ServiceFixture()
        let pending = fixture.delegate("del-1", status: .pending)
        try fixture.store.apply([.upsertDelegate(pending)])
        fixture.services.registry.load([pending])
        let approvals = fixture.services.approvals
        fixture.faults.pauseApplies()
        let first = Mailbox<DecisionReport?>()
        DispatchQueue.global().async {
            first.put(try? approvals.decide([pending], approve: true, reason: "", actor: "admin:a"))
        }
        #expect(fixture.faults.waitForHeldApply(timeout: .seconds(10)), "the first decision reached its write")
        let second = Mailbox<DecisionReport?>()
        DispatchQueue.global().async {
            second.put(try? approvals.decide([pending], approve: false, reason: "no", actor: "admin:b"))
        }
        let skipped = second.next(timeout: .seconds(5))
        fixture.faults.resumeApplies()
        #expect(skipped??.decided == [])
        #expect(skipped??.skipped == ["del-1: another decision is being recorded"])
        #expect(first.next()??.decided == ["del-1"])
        #expect(fixture.services.registry.record(id: "del-1")?.status == .disconnected)  // approved, not connected
    }
}
