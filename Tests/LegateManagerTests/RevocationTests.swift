import Foundation
import LegateAuth
import LegateCore
import LegateDelegate
@testable import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// Token lifecycle and revocation that reaches every delegate, over real TLS on loopback.
@Suite(.serialized) struct RevocationTests {
    @Test func revokeReachesTwoHundredConnectedDelegates() throws {
        let harness = try ManagerHarness { $0.connection.heartbeatInterval = .seconds(1) }
        var clients: [(DelegateClient, Mailbox<DelegateEvent>)] = []
        for index in 0..<200 {
            clients.append(try harness.startDelegate(harness.delegateConfiguration(name: "fleet-\(index)")))
        }
        for (_, events) in clients {
            #expect(events.first(timeout: .seconds(60), where: \.isRegistered) != nil)
        }
        #expect(eventually(timeout: .seconds(30)) { harness.manager.connectedDelegates == 200 })
        let dryRun = try harness.manager.services.tokenService.revoke(id: harness.token.id, actor: "test", dryRun: true)
        #expect(dryRun.connected == 200 && dryRun.told == 0)
        #expect(harness.manager.tokens.entry(tokenID: harness.token.id)?.status == .active)

        let report = try harness.manager.services.tokenService.revoke(
            id: harness.token.id, actor: "test", deadline: .seconds(20))
        #expect(report.connected == 200)
        #expect(report.told == 200)
        #expect(report.acknowledged == 200)
        #expect(report.notReached == 0)
        for (_, events) in clients {
            #expect(events.first(where: \.isSelfDestructed) != nil, "a delegate was not told SELF_DESTRUCT")
        }
        #expect(eventually { harness.manager.connectedDelegates == 0 })
        harness.manager.flushStore()
        let stored = try #require(try harness.manager.stateStore.token(id: harness.token.id))
        #expect(stored.status == .revoked && stored.revokedAt != nil)
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 1000)
        #expect(audit.contains { $0.action == "token.revoke.dry-run" && $0.detail == "scope=account connected=200" })
        #expect(audit.contains { $0.action == "token.revoke" && $0.outcome == "ok" })
        #expect(audit.contains {
            $0.action == "token.revoke.fan-out" && $0.detail.contains("told=200 acknowledged=200 notReached=0")
        })
        #expect(!harness.log.text.contains(harness.token.value), "a token value reached the log")
    }

    @Test func revokedTokenIsRefusedWithAFatalPermissionDeniedAndNoPushBeforeRegistration() throws {
        let harness = try ManagerHarness()
        let report = try harness.manager.services.tokenService.revoke(id: harness.token.id, actor: "test")
        #expect(report.connected == 0 && report.acknowledged == 0)
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        raw.send(harness.registerFrame(instanceID: "offline-during-revoke"))
        let error = try #require(raw.frames.first { $0.type == .error })
        #expect(error.streamID == 0, "a revoked token is connection-fatal: ERROR on stream 0")
        #expect((try? Status(protoBytes: error.payload))?.code == .permissionDenied)
        #expect(raw.waitUntilClosed())
        #expect(!raw.frames.all.contains { $0.type == .push }, "a connection that never registered is pushed nothing")

        let (_, events) = try harness.startDelegate(harness.delegateConfiguration(name: "late"))
        #expect(events.first(where: \.isRefusedAsRevoked) != nil)
        #expect(events.all.first(where: \.isRegistered) == nil)
    }

    @Test func revokedTokenIsStillRefusedByAManagerThatNeverShutDown() throws {
        let harness = try ManagerHarness()
        _ = try harness.manager.services.tokenService.revoke(id: harness.token.id, actor: "test")
        // A second manager on the same data directory, started without stopping the first (no graceful
        // flush): it sees only what was durable when the revoke returned, as after a SIGKILL.
        var configuration = harness.configuration
        configuration.port = 0
        let second = try Manager.start(configuration: configuration, log: harness.log)
        defer { second.shutdown() }
        #expect(second.tokens.entry(tokenID: harness.token.id)?.status == .revoked)
        let raw = try #require(ProtocolPeer.connect(port: second.port, caFile: harness.caFile,
                                                         loop: harness.group.next()))
        #expect(raw.hello() != nil)
        raw.send(harness.registerFrame(instanceID: "after-crash"))
        #expect(raw.nextError()?.code == .permissionDenied)
    }

    @Test func revokeSurvivesAGracefulRestart() throws {
        let harness = try ManagerHarness()
        _ = try harness.manager.services.tokenService.revoke(id: harness.token.id, actor: "test")
        try harness.restart()
        let (_, events) = try harness.startDelegate(harness.delegateConfiguration(name: "after-restart"))
        #expect(events.first(where: \.isRefusedAsRevoked) != nil)
    }

    @Test func createdTokenIsUsedListedAndOnlyDeletedOnceRevoked() throws {
        let harness = try ManagerHarness()
        let (record, value) = try harness.manager.services.tokenService.create(
            accountID: harness.accountID, name: "ci", actor: "admin:test")
        #expect(throws: AdminError.self) {
            try harness.manager.services.tokenService.create(
                accountID: harness.accountID, name: "ci", actor: "admin:test")
        }
        let token = try DelegateToken.parse(value)
        #expect(token.id == record.id)
        let (_, events) = try harness.startDelegate(harness.delegateConfiguration(name: "ci-1", token: token))
        #expect(events.first(where: \.isRegistered) != nil)
        #expect(eventually {
            (try? harness.manager.services.tokenService.summaries(accountID: harness.accountID))?
                .first { $0.id == record.id }?.connectedDelegates == 1
        })
        let summaries = try harness.manager.services.tokenService.summaries(accountID: harness.accountID)
        #expect(summaries.map(\.name).sorted() == ["ci", "default"])

        #expect(throws: AdminError.self) {
            try harness.manager.services.tokenService.delete(id: record.id, actor: "admin:test")
        }
        let report = try harness.manager.services.tokenService.revoke(id: record.id, actor: "admin:test")
        #expect(report.connected == 1 && report.acknowledged == 1)
        #expect(events.first(where: \.isSelfDestructed) != nil)
        try harness.manager.services.tokenService.delete(id: record.id, actor: "admin:test")
        #expect(try harness.manager.stateStore.token(id: record.id) == nil)
        let missing = "token \(record.id) does not exist; list tokens with `legatectl token list`"
        #expect(throws: AdminError(code: .notFound, message: missing)) {
            try harness.manager.services.tokenService.delete(id: record.id, actor: "admin:test")
        }
        // The default token is untouched by all this.
        let (_, other) = try harness.startDelegate(harness.delegateConfiguration(name: "default-user"))
        #expect(other.first(where: \.isRegistered) != nil)
        harness.manager.flushStore()
        let actions = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 100)
            .map(\.action)
        for step in ["token.create", "token.revoke", "token.revoke.fan-out", "token.delete"] {
            #expect(actions.contains(step), "audit lacks \(step)")
        }
        #expect(!harness.log.text.contains(value), "a token value reached the log")
    }

    @Test func rotationMovesConnectedDelegatesWithoutDisconnectingThem() throws {
        let clock = ManualClock(unixMilliseconds: WallClock.unixMilliseconds())
        let harness = try ManagerHarness(clock: clock)
        var clients: [(DelegateClient, Mailbox<DelegateEvent>)] = []
        for index in 0..<5 {
            clients.append(try harness.startDelegate(harness.delegateConfiguration(name: "rot-\(index)")))
        }
        for (_, events) in clients { #expect(events.first(where: \.isRegistered) != nil) }
        #expect(eventually { harness.manager.connectedDelegates == 5 })
        let report = try harness.manager.services.tokenService.rotate(
            id: harness.token.id, actor: "admin:test", overlap: .seconds(1))
        #expect(report.connected == 5 && report.told == 5 && report.acknowledged == 5)
        #expect(report.token.name == "default-2")
        for (client, _) in clients { #expect(client.currentTokenID == report.token.id) }
        #expect(harness.manager.registry.connections(tokenID: report.token.id).count == 5)
        // The old token is revoked when the overlap ends (on the manual clock); the switched delegates keep beating
        // on the new one.
        harness.manager.sweep()
        #expect(harness.manager.tokens.entry(tokenID: harness.token.id)?.status == .active, "still in the overlap")
        clock.advance(by: .seconds(1))
        harness.manager.sweep()
        #expect(eventually { harness.manager.tokens.entry(tokenID: harness.token.id)?.status == .revoked })
        for (_, events) in clients {
            let before = events.all.filter(\.isHeartbeat).count
            #expect(events.waitForCount(before + 3, where: \.isHeartbeat))
            #expect(!events.all.contains { if case .disconnected = $0 { true } else { $0.isSelfDestructed } })
        }
        #expect(harness.manager.connectedDelegates == 5)
        harness.manager.flushStore()
        let stored = try harness.manager.stateStore.delegates(accountID: harness.accountID)
        #expect(stored.allSatisfy { $0.tokenID == report.token.id })
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 100)
        #expect(audit.contains { $0.action == "token.rotate.push" && $0.detail.contains("switched=5") })
        #expect(audit.contains { $0.action == "token.revoke.fan-out" && $0.detail.contains("connected=0") })
    }

    @Test func expiredTokenIsRevokedAutomatically() throws {
        let clock = ManualClock(unixMilliseconds: WallClock.unixMilliseconds())
        let harness = try ManagerHarness(clock: clock)
        let (record, value) = try harness.manager.services.tokenService.create(
            accountID: harness.accountID, name: "short-lived", actor: "admin:test",
            expiresAt: clock.unixMilliseconds() + 1_500)
        let token = try DelegateToken.parse(value)
        let (_, events) = try harness.startDelegate(harness.delegateConfiguration(name: "brief", token: token))
        #expect(events.first(where: \.isRegistered) != nil)
        harness.manager.sweep()
        #expect(harness.manager.tokens.entry(tokenID: record.id)?.status == .active, "not expired yet")
        clock.advance(by: .milliseconds(1_500))
        harness.manager.sweep()
        #expect(events.first(where: \.isSelfDestructed) != nil)
        #expect(harness.manager.tokens.entry(tokenID: record.id)?.status == .revoked)
        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 100)
        #expect(audit.contains { $0.action == "token.revoke" && $0.actor == "system:expiry" })
    }
}

extension DelegateEvent {
    var isSelfDestructed: Bool {
        if case .selfDestructed = self { return true }
        return false
    }

    /// Stopped for good because the manager refused a revoked token (PERMISSION_DENIED, no push: never registered).
    var isRefusedAsRevoked: Bool {
        if case .stopped(let code, let message) = self { return code == .permissionDenied && message.contains("revoked") }
        return false
    }
}
