import Foundation
import LegateAdminClient
import LegateAuth
import LegateCore
import LegateDelegate
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// `delegate prune`: records of delegates disconnected long enough go, connected and pending ones stay.
@Suite(.serialized) struct DelegatePruneTests {
    func prune(_ admin: AdminClient, milliseconds: Int64, dryRun: Bool = false) throws -> DelegatePruneResponse {
        var request = DelegatePruneRequest()
        request.disconnectedForMs = milliseconds
        request.dryRun = dryRun
        return try admin.call(.delegatePrune, request, as: DelegatePruneResponse.self)
    }

    @Test func staleDisconnectedRecordsArePrunedAndAudited() throws {
        let harness = try ManagerHarness()
        let admin = try ApprovalTests.admin(harness)
        let (gone, goneEvents) = try harness.startDelegate(harness.delegateConfiguration(name: "gone"))
        let goneID = try #require(goneEvents.first(where: \.isRegistered)?.registeredID)
        let (stays, staysEvents) = try harness.startDelegate(harness.delegateConfiguration(name: "stays"))
        defer { stays.stop() }
        let staysID = try #require(staysEvents.first(where: \.isRegistered)?.registeredID)
        _ = try admin.createProfile(ApprovalTests.spec("gated"))
        let (waiting, waitingEvents, _) = try ApprovalTests.start(harness, name: "waiting", profile: "gated")
        let waitingID = try #require(waitingEvents.first(where: \.isRegistered)?.registeredID)
        gone.stop()
        waiting.stop()
        #expect(eventually { harness.manager.registry.record(id: goneID)?.status == .disconnected })
        #expect(eventually { !harness.manager.registry.isConnected(waitingID) })

        // Disconnected a moment ago: a day's threshold keeps it.
        #expect(try self.prune(admin, milliseconds: 86_400_000).removed == 0)
        #expect(throws: AdminClientError.self) { try self.prune(admin, milliseconds: 0) }
        // Once it has been disconnected for 1 ms, a dry run names it and removes nothing.
        #expect(eventually { (try? self.prune(admin, milliseconds: 1, dryRun: true))?.delegateIds == [goneID] })
        #expect(harness.manager.registry.record(id: goneID) != nil)

        let response = try self.prune(admin, milliseconds: 1)
        #expect(response.removed == 1 && response.delegateIds == [goneID] && !response.dryRun)
        harness.manager.flushStore()
        #expect(try harness.manager.stateStore.delegate(id: goneID) == nil)
        #expect(try harness.manager.stateStore.delegate(id: staysID) != nil, "connected: kept")
        #expect(try harness.manager.stateStore.delegate(id: waitingID)?.status == .pending, "pending: kept")
        let listed = try admin.call(.delegateList, DelegateListRequest(), as: DelegateListResponse.self)
        #expect(!listed.delegates.map(\.id).contains(goneID))
        let audit = try harness.manager.stateStore.auditRecords(
            accountID: harness.accountID, filter: .init(action: "delegate.prune"), limit: 10)
        #expect(audit.count == 1 && audit.first?.detail.contains(goneID) == true)
        #expect(try self.prune(admin, milliseconds: 1).removed == 0)
    }

    @Test func aDelegateToldToSelfDestructIsDestroyedThenPrunedAtOnce() throws {
        let harness = try ManagerHarness()
        let adminKey = harness.manager.report.newAdminKeyValue ?? ""
        let admin = try ApprovalTests.admin(harness)
        var create = TokenCreateRequest()
        create.name = "doomed"
        let token = try DelegateToken.parse(try admin.call(.tokenCreate, create, as: TokenCreateResponse.self).value)
        let (client, events) = try harness.startDelegate(harness.delegateConfiguration(name: "d1", token: token))
        defer { client.stop() }
        let id = try #require(events.first(where: \.isRegistered)?.registeredID)
        var revoke = TokenRevokeRequest()
        revoke.tokenID = token.id
        _ = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
        #expect(events.first(where: \.isSelfDestructed) != nil)
        #expect(eventually { harness.manager.registry.record(id: id)?.status == .destroyed })
        let listed = try admin.call(.delegateList, DelegateListRequest(), as: DelegateListResponse.self)
        #expect(listed.delegates.first { $0.id == id }.map { $0.status == "destroyed" && !$0.connected } == true)
        harness.manager.flushStore()
        #expect(try harness.manager.stateStore.delegate(id: id)?.status == .destroyed)

        // A restart keeps the terminal state; prune removes it whatever the age.
        try harness.restart()
        #expect(harness.manager.registry.record(id: id)?.status == .destroyed)
        let again = try ApprovalTests.admin(harness, key: adminKey)
        #expect(try self.prune(again, milliseconds: 86_400_000).delegateIds == [id])
    }

    @Test(.enabled(if: LegatectlTests.binary != nil)) func pruneFromTheCommandLine() throws {
        let harness = try ManagerHarness()
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
        let cli = LegatectlTests()
        let result = try cli.run(["delegate", "prune", "--disconnected-for", "24h", "--json"], environment: environment)
        #expect(result.status == 0 && result.output.contains("\"removed\" : 0"))
        #expect(try cli.run(["delegate", "prune"], environment: environment).status == 2)
        #expect(try cli.run(["delegate", "prune", "--disconnected-for", "soon"], environment: environment).status == 2)
        let audit = try cli.run(["audit", "list", "--action", "admin.*", "--since", "1h", "--json"], environment: environment)
        #expect(audit.status == 0 && audit.output.contains("admin.auth") && !audit.output.contains("api.delegatePrune"))
        #expect(try cli.run(["audit", "list", "--since", "later"], environment: environment).status == 2)
    }
}
