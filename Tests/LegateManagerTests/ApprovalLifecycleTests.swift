import Foundation
import LegateAuth
import LegateCore
import LegateDelegate
import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// Issue 5 end to end, over time: delete, pending expiry, liveness grace, and state across a restart.
@Suite(.serialized) struct ApprovalLifecycleTests {
    @Test func deletingAConnectedDelegateSendsSelfDestructFirst() throws {
        let harness = try ManagerHarness()
        let admin = try ApprovalTests.admin(harness)
        let (client, events) = try harness.startDelegate(harness.delegateConfiguration(name: "doomed"))
        defer { client.stop() }
        let id = try #require(events.first(where: \.isRegistered)?.registeredID)
        _ = try admin.createProfile(ApprovalTests.spec("gated"))
        let (pending, pendingEvents, _) = try ApprovalTests.start(harness, name: "waiting", profile: "gated")
        defer { pending.stop() }
        let pendingID = try #require(pendingEvents.first(where: \.isRegistered)?.registeredID)

        try admin.deleteDelegate(id: id)
        let destructed = events.first { if case .selfDestructed = $0 { return true } else { return false } }
        #expect(destructed == .selfDestructed(reason: "delegate \(id) was deleted by an administrator"))
        #expect(harness.manager.registry.record(id: id) == nil)
        try admin.deleteDelegate(id: pendingID)
        #expect(pendingEvents.first { if case .selfDestructed = $0 { return true } else { return false } } != nil)
        #expect(eventually { harness.manager.connectedDelegates == 0 })
        harness.manager.flushStore()
        #expect(try harness.manager.stateStore.delegate(id: id) == nil, "the closing connection did not write it back")
        #expect(try harness.manager.stateStore.delegate(id: pendingID) == nil)
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 50)
        #expect(
            audit.contains { $0.action == "delegate.delete" && $0.target == id && $0.detail.contains("acknowledged") })
        do {
            try admin.deleteDelegate(id: id)
            Issue.record("deleting twice must be refused")
        } catch {
            #expect(
                error
                    == .refused(code: .notFound, message: "delegate \(id) does not exist; see legatectl delegate list"))
        }
    }

    @Test func pendingRegistrationExpiresAndTheDelegateIsTold() throws {
        let clock = ManualClock(unixMilliseconds: WallClock.unixMilliseconds())
        let harness = try ManagerHarness(clock: clock) { $0.pendingExpiry = .seconds(3600) }
        let admin = try ApprovalTests.admin(harness)
        _ = try admin.createProfile(ApprovalTests.spec("gated"))
        let (client, events, _) = try ApprovalTests.start(harness, name: "slow", profile: "gated")
        defer { client.stop() }
        let id = try #require(events.first(where: \.isRegistered)?.registeredID)
        harness.manager.sweep()
        #expect(harness.manager.registry.record(id: id)?.status == .pending, "the window is still open")
        // The registration stamped its window from the wall clock a moment after the manual clock started; a
        // minute past the window covers that moment.
        clock.advance(by: .seconds(3600 + 60))
        harness.manager.sweep()
        let stopped = events.first { if case .stopped = $0 { return true } else { return false } }
        guard case .stopped(let code, let message) = stopped else {
            Issue.record("an expired registration must stop the delegate")
            return
        }
        #expect(code == .permissionDenied && message.contains("approval not given within"))
        let record = harness.manager.registry.record(id: id)
        #expect(record?.status == .rejected && record?.decisionReason?.contains("approval not given") == true)
        #expect(eventually { !harness.manager.registry.isConnected(id) })
        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 50)
        #expect(audit.contains { $0.action == "delegate.reject" && $0.actor == "system" && $0.target == id })
    }

    @Test func silentDelegateIsDisconnectedAfterTheGraceAndResumesItsIdentity() throws {
        let harness = try ManagerHarness {
            $0.connection.heartbeatInterval = .milliseconds(100)
            $0.connection.heartbeatGrace = .milliseconds(300)
        }
        let raw = try #require(harness.rawClient())
        let hello = try #require(raw.hello())
        #expect(hello.heartbeatIntervalMs == 100 && hello.heartbeatGraceMs == 300)
        raw.send(harness.registerFrame(instanceID: "ins-silent"))
        let answer = try #require(raw.frames.first(where: { $0.type == .response }))
        let registered = try RegisterResponse(protoBytes: answer.payload)
        #expect(registered.heartbeatIntervalMs == 100 && registered.state == .active)
        let before = WallClock.unixMilliseconds()
        // The process is "killed" without closing its socket: it just stops beating.
        #expect(raw.waitUntilClosed(timeout: .seconds(5)), "the manager closes a silent delegate after the grace")
        // The manager records the disconnect in its close handler, which may run just after the peer saw the close.
        #expect(eventually { harness.manager.registry.record(id: registered.delegateID)?.status == .disconnected })
        let record = try #require(harness.manager.registry.record(id: registered.delegateID))
        #expect(record.status == .disconnected && (record.disconnectedAt ?? 0) >= before + 250)

        let back = try #require(harness.rawClient())
        #expect(back.hello() != nil)
        back.send(harness.registerFrame(instanceID: "ins-silent"))
        let again = try #require(back.frames.first(where: { $0.type == .response }))
        #expect(try RegisterResponse(protoBytes: again.payload).delegateID == registered.delegateID)
        #expect(harness.manager.registry.record(id: registered.delegateID)?.status == .active)
        back.close()
    }

    @Test func profilesDecisionsAndPendingStateSurviveARestart() throws {
        let harness = try ManagerHarness()
        var admin = try ApprovalTests.admin(harness)
        _ = try admin.createProfile(
            ApprovalTests.spec("gated", script: "echo hi", rules: [ApprovalTests.rule(host: "never-*")]))
        let (waiting, waitingEvents, _) = try ApprovalTests.start(
            harness, name: "waiting", profile: "gated", instanceID: "ins-waiting")
        let waitingID = try #require(waitingEvents.first(where: \.isRegistered)?.registeredID)
        let (refused, refusedEvents, _) = try ApprovalTests.start(
            harness, name: "refused", profile: "gated", instanceID: "ins-refused")
        let refusedID = try #require(refusedEvents.first(where: \.isRegistered)?.registeredID)
        _ = try admin.decide(ApprovalTests.decision(ids: [refusedID], reason: "not ours"), approve: false)
        #expect(refusedEvents.first { if case .stopped = $0 { return true } else { return false } } != nil)
        waiting.stop()
        refused.stop()
        admin.close()
        #expect(eventually { harness.manager.connectedDelegates == 0 })

        let key = harness.manager.report.newAdminKeyValue
        try harness.restart()
        admin = try ApprovalTests.admin(harness, key: key)
        defer { admin.close() }
        let profile = try #require(try admin.listProfiles().first { $0.name == "gated" })
        #expect(profile.requiresApproval && profile.startupScript == "echo hi")
        #expect(profile.autoApproval.first?.hostnamePattern == "never-*")
        #expect(harness.manager.registry.record(id: waitingID)?.status == .pending)
        let rejected = harness.manager.registry.record(id: refusedID)
        #expect(rejected?.status == .rejected && rejected?.decisionReason == "not ours")
        let pending = try admin.pendingDelegates()
        #expect(pending.map(\.id) == [waitingID] && !(pending.first?.connected ?? true))

        // The pending delegate comes back: same record, still pending; then it is approved.
        let (back, backEvents, scripts) = try ApprovalTests.start(
            harness, name: "waiting", profile: "gated", instanceID: "ins-waiting")
        defer { back.stop() }
        #expect(backEvents.first(where: \.isRegistered) == .registered(delegateID: waitingID, state: .pending))
        let response = try admin.decide(ApprovalTests.decision(token: harness.token.id), approve: true)
        #expect(response.decided == [waitingID] && response.told == 1)
        #expect(backEvents.first(where: { $0 == .approvalDecided(approved: true, reason: "") }) != nil)
        #expect(scripts.first(where: { $0 == .reported }) != nil)
        back.stop()
        #expect(eventually { !harness.manager.registry.isConnected(waitingID) })
        let (approvedAgain, approvedEvents, _) = try ApprovalTests.start(
            harness, name: "waiting", profile: "gated", instanceID: "ins-waiting")
        defer { approvedAgain.stop() }
        #expect(
            approvedEvents.first(where: \.isRegistered) == .registered(delegateID: waitingID, state: .active),
            "an approved delegate stays approved when it registers again")
        let (again, againEvents, _) = try ApprovalTests.start(
            harness, name: "refused", profile: "gated", instanceID: "ins-refused")
        defer { again.stop() }
        let stopped = againEvents.first { if case .stopped = $0 { return true } else { return false } }
        guard case .stopped(let code, let message) = stopped else {
            Issue.record("a rejected delegate must be refused after a restart")
            return
        }
        #expect(code == .permissionDenied && message.contains("not ours"))
    }
}
