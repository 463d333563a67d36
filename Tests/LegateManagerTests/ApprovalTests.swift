import Foundation
import LegateAdminClient
import LegateAuth
import LegateCore
import LegateDelegate
@testable import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// Approval end to end: pending registrations, approve, reject, auto-approval, delete, expiry, restart.
@Suite(.serialized) struct ApprovalTests {
    static func admin(_ harness: ManagerHarness, key: String? = nil) throws(AdminClientError) -> AdminClient {
        try AdminClient.connect(
            host: "127.0.0.1", port: harness.port, caFile: harness.caFile, serverName: "localhost",
            apiKey: key ?? harness.manager.report.newAdminKeyValue ?? "", loop: harness.group.next())
    }

    static func spec(
        _ name: String, approval: Bool = true, script: String = "", rules: [LegateWire.AutoApprovalRule] = []
    ) -> ProfileSpec {
        var spec = ProfileSpec()
        spec.name = name
        spec.requiresApproval = approval
        spec.startupScript = script
        spec.autoApproval = rules
        return spec
    }

    static func rule(cidrs: [String] = [], host: String = "", token: String = "") -> LegateWire.AutoApprovalRule {
        var rule = LegateWire.AutoApprovalRule()
        rule.sourceCidrs = cidrs
        rule.hostnamePattern = host
        rule.tokenID = token
        return rule
    }

    /// Starts a delegate on `profile` whose startup-script reports land in the second mailbox.
    static func start(
        _ harness: ManagerHarness, name: String, profile: String, hostname: String = "test-host",
        instanceID: String? = nil
    ) throws -> (DelegateClient, Mailbox<DelegateEvent>, Mailbox<StartupScriptEvent>) {
        var configuration = harness.delegateConfiguration(name: name)
        configuration.profile = profile
        configuration.hostname = hostname
        if let instanceID { configuration.instanceID = instanceID }
        let events = Mailbox<DelegateEvent>()
        let scripts = Mailbox<StartupScriptEvent>()
        let client = DelegateClient(
            configuration: configuration, tls: try DelegateClient.makeTLSContext(configuration),
            loop: harness.group.next(), onStartupScript: { scripts.put($0) }, onEvent: { events.put($0) })
        client.start()
        return (client, events, scripts)
    }

    static func decision(ids: [String] = [], profile: String = "", token: String = "", reason: String = "")
        -> DelegateDecisionRequest
    {
        var request = DelegateDecisionRequest()
        request.delegateIds = ids
        request.profile = profile
        request.tokenID = token
        request.reason = reason
        return request
    }

    @Test func pendingDelegateIsApprovedWithinOneRoundTripAndRunsTheStartupScript() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        _ = try admin.createProfile(Self.spec("gated", script: "echo started on $(uname -s); exit 3"))
        let (client, events, scripts) = try Self.start(harness, name: "p1", profile: "gated")
        defer { client.stop() }
        let registered = try #require(events.first(where: \.isRegistered))
        #expect(registered == .registered(delegateID: registered.registeredID ?? "", state: .pending))
        let id = try #require(registered.registeredID)
        #expect(harness.manager.registry.record(id: id)?.status == .pending)
        #expect(events.waitForCount(3, where: \.isHeartbeat), "a pending delegate keeps heartbeating")
        let pending = try admin.pendingDelegates()
        #expect(pending.map(\.id) == [id])
        let info = try #require(pending.first)
        #expect(info.hostname == "test-host" && info.ipAddress == "127.0.0.1" && info.version == "0.1.0")
        #expect(info.tokenID == harness.token.id && info.firstSeenAtMs > 0 && info.profile == "gated")
        #expect(info.pendingExpiresAtMs >= info.firstSeenAtMs + 86_399_000 && info.connected)
        #expect(scripts.all.isEmpty, "no startup script while pending")

        let response = try admin.decide(Self.decision(ids: [id, "dlg_missing"]), approve: true)
        #expect(response.decided == [id] && response.told == 1)
        #expect(response.skipped.count == 1 && response.skipped[0].hasPrefix("dlg_missing"))
        // The push is written before the admin call returns, so it arrives within one round trip.
        #expect(
            events.first(timeout: .seconds(2), where: { $0 == .approvalDecided(approved: true, reason: "") }) != nil)
        #expect(harness.manager.registry.record(id: id)?.status == .active)
        #expect(try admin.pendingDelegates().isEmpty)
        guard case .finished(let outcome) = try #require(scripts.next()) else {
            Issue.record("expected the script to finish first")
            return
        }
        #expect(outcome.exitCode == 3 && String(decoding: outcome.output, as: UTF8.self) == "started on Linux\n")
        #expect(scripts.next() == .reported)
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 50)
        let script = try #require(audit.first { $0.action == "delegate.startup_script" })
        #expect(script.target == id && script.outcome == "failed" && script.detail.contains("exit=3"))
        #expect(script.detail.contains("started on Linux"))
        #expect(audit.contains { $0.action == "delegate.approve" && $0.target == id && $0.actor.hasPrefix("admin:") })
        let again = try admin.decide(Self.decision(ids: [id]), approve: true)
        #expect(again.decided.isEmpty && again.skipped == ["\(id): is active, not pending"])
    }

    @Test func pendingHeartbeatAcksSayPendingUntilApproved() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        _ = try admin.createProfile(Self.spec("gated"))
        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        var request = try RegisterRequest(protoBytes: harness.registerFrame(instanceID: "raw-pending").payload)
        request.profile = "gated"
        raw.send(
            Frame(type: .request, method: CallMethod.register.rawValue, streamID: 1, payload: request.protoBytes()))
        let answer = try #require(raw.frames.first(where: { $0.type == .response && $0.streamID == 1 }))
        let response = try RegisterResponse(protoBytes: answer.payload)
        #expect(response.state == .pending && response.startupScript.isEmpty)
        func beat(_ streamID: UInt32) throws -> HeartbeatAck {
            var heartbeat = Heartbeat()
            heartbeat.jwt = request.jwt
            heartbeat.sequence = UInt64(streamID)
            raw.send(
                Frame(
                    type: .request, method: CallMethod.heartbeat.rawValue, streamID: streamID,
                    payload: heartbeat.protoBytes()))
            let frame = try #require(raw.frames.first(where: { $0.streamID == streamID }))
            return try HeartbeatAck(protoBytes: frame.payload)
        }
        #expect(try beat(3).state == .pending)
        _ = try admin.decide(Self.decision(ids: [response.delegateID]), approve: true)
        let push = try #require(raw.frames.first(where: { $0.type == .push }))
        #expect(push.method == PushKind.approvalDecision.rawValue)
        #expect(try ApprovalDecision(protoBytes: push.payload).approved)
        #expect(try beat(5).state == .active)
    }

    @Test func rejectedDelegateIsToldWhyDisconnectedAndRefusedOnReconnect() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        _ = try admin.createProfile(Self.spec("gated"))
        let (client, events, _) = try Self.start(harness, name: "r1", profile: "gated", instanceID: "ins-reject")
        defer { client.stop() }
        let id = try #require(events.first(where: \.isRegistered)?.registeredID)
        let response = try admin.decide(Self.decision(profile: "gated", reason: "unknown host"), approve: false)
        #expect(response.decided == [id] && response.told == 1)
        #expect(events.first(where: { $0 == .approvalDecided(approved: false, reason: "unknown host") }) != nil)
        let stopped = events.first { if case .stopped = $0 { return true } else { return false } }
        #expect(stopped == .stopped(code: .permissionDenied, message: "rejected by an administrator: unknown host"))
        #expect(eventually { !harness.manager.registry.isConnected(id) })
        let record = harness.manager.registry.record(id: id)
        #expect(record?.status == .rejected && record?.decisionReason == "unknown host")

        let raw = try #require(harness.rawClient())
        #expect(raw.hello() != nil)
        raw.send(harness.registerFrame(instanceID: "ins-reject"))
        let refusal = raw.nextError()
        #expect(refusal?.code == .permissionDenied)
        #expect(refusal?.message.contains("unknown host") == true)
        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 50)
        #expect(audit.contains { $0.action == "delegate.reject" && $0.detail.contains("reason=unknown host") })
    }

    @Test func autoApprovalAdmitsOnlyMatchingDelegates() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        _ = try admin.createProfile(
            Self.spec(
                "auto", script: "true",
                rules: [
                    Self.rule(cidrs: ["10.0.0.0/8"]),  // the self-reported ip below must not count
                    Self.rule(cidrs: ["192.0.2.0/24", "127.0.0.0/8"], host: "ci-*"),
                ]))
        var reported = harness.delegateConfiguration(name: "liar")
        reported.profile = "auto"
        reported.hostname = "dev-9"
        reported.ipAddress = "10.1.2.3"
        let (liar, liarEvents) = try harness.startDelegate(reported)
        defer { liar.stop() }
        let (ci, ciEvents, ciScripts) = try Self.start(harness, name: "ci", profile: "auto", hostname: "ci-runner-4")
        defer { ci.stop() }
        let (dev, devEvents, _) = try Self.start(harness, name: "dev", profile: "auto", hostname: "dev-1")
        defer { dev.stop() }
        #expect(ciEvents.first(where: \.isRegistered)?.registeredState == .active)
        #expect(devEvents.first(where: \.isRegistered)?.registeredState == .pending)
        #expect(liarEvents.first(where: \.isRegistered)?.registeredState == .pending)
        #expect(ciScripts.next() != nil, "an auto-approved delegate runs the startup script at registration")
        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 50)
        #expect(audit.contains { $0.action == "delegate.register" && $0.detail.contains("auto-approved by rule 2") })
        #expect(try admin.pendingDelegates(profile: "auto").map(\.name).sorted() == ["dev", "liar"])
    }

    @Test func profilesAreValidatedAndProtected() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        #expect(try admin.listProfiles().map(\.name) == ["default"])
        func refusal(_ body: () throws -> Void) -> StatusCode? {
            do {
                try body()
                return nil
            } catch let error as AdminClientError {
                if case .refused(let code, _) = error { return code }
                return .unknown
            } catch {
                return .unknown
            }
        }
        #expect(refusal { _ = try admin.createProfile(Self.spec("")) } == .invalidArgument)
        #expect(
            refusal { _ = try admin.createProfile(Self.spec(String(repeating: "x", count: 65))) } == .invalidArgument)
        #expect(
            refusal { _ = try admin.createProfile(Self.spec("bad", rules: [Self.rule(cidrs: ["10.0.0.0/33"])])) }
                == .invalidArgument)
        #expect(
            refusal { _ = try admin.createProfile(Self.spec("big", script: String(repeating: "x", count: 65_537))) }
                == .invalidArgument)
        #expect(refusal { _ = try admin.createProfile(Self.spec("default")) } == .alreadyExists)
        #expect(refusal { _ = try admin.updateProfile(Self.spec("ghost")) } == .notFound)
        #expect(refusal { try admin.deleteProfile(name: "default") } == .failedPrecondition)
        _ = try admin.createProfile(Self.spec("used", approval: false))
        let updated = try admin.updateProfile(Self.spec("used", approval: false, script: "echo 1"))
        #expect(updated.startupScript == "echo 1" && updated.updatedAtMs >= updated.createdAtMs)
        let (client, events, _) = try Self.start(harness, name: "u", profile: "used")
        #expect(events.first(where: \.isRegistered) != nil)
        #expect(refusal { try admin.deleteProfile(name: "used") } == .failedPrecondition)
        client.stop()
        #expect(try admin.listProfiles().first { $0.name == "used" }?.delegates == 1)

        let orgKey = try harness.manager.services.adminKeys.create(
            accountID: harness.accountID, name: "org", permissions: [.delegateView, .delegateEdit, .delegateDelete],
            actor: "test", scope: .org("acme")
        ).value
        let orgAdmin = try Self.admin(harness, key: orgKey)
        defer { orgAdmin.close() }
        #expect(refusal { _ = try orgAdmin.createProfile(Self.spec("mine")) } == .permissionDenied)
        #expect(refusal { try orgAdmin.deleteProfile(name: "used") } == .permissionDenied)
        #expect(try orgAdmin.listProfiles().count == 2, "any key with delegate:view may list them")

        let (unknown, unknownEvents, _) = try Self.start(harness, name: "x", profile: "nope")
        defer { unknown.stop() }
        let stopped = unknownEvents.first { if case .stopped = $0 { return true } else { return false } }
        guard case .stopped(let code, let message) = stopped else {
            Issue.record("an unknown profile must stop the delegate")
            return
        }
        #expect(code == .notFound && message.contains("profile nope does not exist"))
        #expect(message.contains("legatectl profile create"))
    }
}

extension DelegateEvent {
    var registeredState: DelegateState? {
        if case .registered(_, let state) = self { return state }
        return nil
    }
}
