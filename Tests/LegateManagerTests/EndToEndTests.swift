import Foundation
import LegateAuth
import LegateCore
import LegateDelegate
@testable import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// A real manager and real delegates over TLS on loopback: registration, heartbeats, refusals, restart.
@Suite(.serialized) struct EndToEndTests {
    @Test func delegatesRegisterAndHeartbeat() throws {
        let harness = try ManagerHarness()
        var clients: [(DelegateClient, Mailbox<DelegateEvent>)] = []
        for index in 0..<5 {
            clients.append(try harness.startDelegate(harness.delegateConfiguration(name: "d\(index)")))
        }
        for (_, events) in clients {
            #expect(events.first(where: \.isRegistered) != nil)
            #expect(events.waitForCount(3, where: \.isHeartbeat), "fewer than 3 heartbeats answered")
        }
        #expect(eventually { harness.manager.connectedDelegates == 5 })
        let records = harness.manager.registry.records(accountID: harness.accountID)
        #expect(records.count == 5)
        #expect(records.allSatisfy { $0.status == .active && $0.tokenID == harness.token.id })
        #expect(records.allSatisfy { $0.hostname == "test-host" && $0.ipAddress == "127.0.0.1" })
        harness.manager.flushStore()
        let stored = try harness.manager.stateStore.delegates(accountID: harness.accountID)
        #expect(stored.count == 5)
        #expect(stored.allSatisfy { ($0.lastHeartbeatAt ?? 0) > 0 })
        let summary = try harness.manager.services.tokenService.summaries(accountID: harness.accountID)
            .first { $0.id == harness.token.id }
        #expect(summary?.connectedDelegates == 5)
        #expect((summary?.lastUsedAt ?? 0) > 0, "token list shows when the token was last used")
        for (client, _) in clients { client.stop() }
        #expect(!harness.log.text.contains(harness.token.value), "a token value reached the log")
    }

    @Test func badSignatureIsUnauthenticated() throws {
        let harness = try ManagerHarness()
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        let good = try RegisterRequest(protoBytes: harness.registerFrame().payload)
        var tampered = Array(good.jwt)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
        raw.send(harness.registerFrame(jwt: String(tampered)))
        #expect(raw.nextError()?.code == .unauthenticated)
        #expect(raw.waitUntilClosed())
        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 10)
        #expect(audit.contains { $0.action == "auth.failure" })
    }

    @Test func wrongAccountIsUnauthenticated() throws {
        let harness = try ManagerHarness()
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        raw.send(harness.registerFrame(accountID: "acc_someone_else"))
        let status = raw.nextError()
        #expect(status?.code == .unauthenticated)
        #expect(raw.waitUntilClosed())
    }

    @Test func unknownTokenIDIsUnauthenticated() throws {
        let harness = try ManagerHarness()
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        raw.send(harness.registerFrame(token: DelegateToken.generate()))
        #expect(raw.nextError()?.code == .unauthenticated)
        #expect(raw.waitUntilClosed())
    }

    @Test func replayedRegistrationJWTIsRefused() throws {
        let harness = try ManagerHarness()
        let frame = harness.registerFrame(instanceID: "replay")
        let first = try #require(harness.rawClient())
        #expect(first.hello() != nil)
        first.send(frame)
        #expect(first.frames.first(where: { $0.type == .response }) != nil)
        let second = try #require(harness.rawClient())
        #expect(second.hello() != nil)
        second.send(frame)
        let status = second.nextError()
        #expect(status?.code == .unauthenticated)
        #expect(status?.message.contains("already used") == true)
    }

    @Test func oversizeFrameBeforeAuthenticationIsRefusedFromTheHeaderAlone() throws {
        let harness = try ManagerHarness()
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        // Only the 12-byte header of a 1 MiB frame: the limit must bite before any body arrives.
        raw.send(bytes: [0x00, 0x10, 0x00, 0x00, 3, 0, 0, 1, 0, 0, 0, 1])
        #expect(raw.nextError()?.code == .resourceExhausted)
        #expect(raw.waitUntilClosed())
    }

    @Test func frameBeforeHelloIsFailedPrecondition() throws {
        let harness = try ManagerHarness()
        let raw = try #require(harness.rawClient())
        raw.send(harness.registerFrame())
        #expect(raw.nextError()?.code == .failedPrecondition)
        #expect(raw.waitUntilClosed())
    }

    @Test func garbageInsteadOfTLSIsClosed() throws {
        let harness = try ManagerHarness()
        let garbage = [UInt8]("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + [UInt8](repeating: 0xff, count: 512)
        #expect(PlainSocket.sendAndAwaitClose(port: harness.port, bytes: garbage))
    }

    @Test func peerThatStopsMidFrameIsClosedAtTheDeadline() throws {
        let harness = try ManagerHarness { $0.connection.helloTimeout = .milliseconds(300) }
        let raw = try #require(harness.rawClient())
        raw.send(bytes: [0, 0, 0, 40, 1, 0, 0, 0, 0, 0])  // 10 of the 12 header bytes, then silence
        #expect(raw.nextError()?.code == .deadlineExceeded)
        #expect(raw.waitUntilClosed())
    }

    @Test func managerKeepsServingOthersThroughHostilePeers() throws {
        let harness = try ManagerHarness()
        let (client, events) = try harness.startDelegate(harness.delegateConfiguration(name: "steady"))
        #expect(events.first(where: \.isRegistered) != nil)
        for _ in 0..<5 {
            _ = PlainSocket.sendAndAwaitClose(port: harness.port, bytes: [UInt8](repeating: 0x16, count: 64))
            let raw = try #require(harness.rawClient())
            raw.send(bytes: [0xff, 0xff, 0xff, 0xff, 99, 0, 0, 0, 0, 0, 0, 0])
            #expect(raw.waitUntilClosed())
        }
        let before = events.all.filter(\.isHeartbeat).count
        #expect(events.waitForCount(before + 3, where: \.isHeartbeat))
        client.stop()
    }

    @Test func connectionsOverThePerAddressRateAreRefusedWithAStatus() throws {
        let harness = try ManagerHarness {
            $0.connectionRate.perSecond = 0.01
            $0.connectionRate.burst = 2
        }
        let first = try #require(harness.rawClient())
        let second = try #require(harness.rawClient())
        #expect(first.hello() != nil)
        #expect(second.hello() != nil)
        let third = try #require(harness.rawClient())
        // Overload is UNAVAILABLE (retryable with backoff); RESOURCE_EXHAUSTED is kept for a frame over the limit.
        let refusal = third.frames.first { $0.type == .error }
        #expect(refusal?.streamID == 0)
        #expect(refusal.flatMap { try? Status(protoBytes: $0.payload) }?.code == .unavailable)
        #expect(third.waitUntilClosed())
        #expect(harness.log.text.contains("rate limit"))
    }

    @Test func badTokenStopsTheDelegateWithAClearStatus() throws {
        let harness = try ManagerHarness()
        let (_, events) = try harness.startDelegate(harness.delegateConfiguration(token: DelegateToken.generate()))
        let stopped = events.first {
            if case .stopped = $0 { return true }
            return false
        }
        guard case .stopped(let code, _) = stopped else {
            Issue.record("delegate with an unknown token did not stop")
            return
        }
        #expect(code == .unauthenticated)
    }

    @Test func silentDelegateIsDisconnectedAfterTheGrace() throws {
        let harness = try ManagerHarness { $0.connection.heartbeatGrace = .milliseconds(400) }
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        raw.send(harness.registerFrame(instanceID: "silent"))
        let response = try #require(raw.frames.first(where: { $0.type == .response }))
        let delegateID = try RegisterResponse(protoBytes: response.payload).delegateID
        #expect(raw.nextError()?.code == .deadlineExceeded)
        #expect(eventually { harness.manager.registry.record(id: delegateID)?.status == .disconnected })
        #expect(harness.manager.registry.record(id: delegateID)?.disconnectedAt != nil)
    }

    @Test func restartKeepsStateAndDelegatesComeBackByThemselves() throws {
        let harness = try ManagerHarness()
        let (client, events) = try harness.startDelegate(harness.delegateConfiguration(name: "survivor"))
        let firstID = try #require(events.first(where: \.isRegistered)?.registeredID)
        try harness.restart()
        #expect(harness.manager.report.accountID == harness.accountID)
        #expect(harness.manager.report.newDefaultTokenValue == nil)
        #expect(harness.manager.tokens.entry(tokenID: harness.token.id)?.status == .active)
        let second = events.first(timeout: .seconds(15), where: \.isRegistered)
        let secondID = try #require(second?.registeredID, "events after restart: \(events.all.filter { !$0.isHeartbeat })")
        #expect(secondID == firstID, "the delegate must resume its identity")
        #expect(harness.log.text.contains("tls.resumed=true"), "session tickets must survive the restart")
        let before = events.all.filter(\.isHeartbeat).count
        #expect(events.waitForCount(before + 2, where: \.isHeartbeat))
        #expect(harness.manager.registry.records(accountID: harness.accountID).count == 1)
        client.stop()
    }
}
