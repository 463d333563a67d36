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

/// The admin API over the Legate protocol with the blocking AdminClient, against a real manager.
@Suite(.serialized) struct AdminAPITests {
    func client(_ harness: ManagerHarness, key: String? = nil) throws(AdminClientError) -> AdminClient {
        try AdminClient.connect(
            host: "127.0.0.1", port: harness.port, caFile: harness.caFile, serverName: "localhost",
            apiKey: key ?? harness.manager.report.newAdminKeyValue ?? "", loop: harness.group.next())
    }

    @Test func tokenLifecycleThroughTheAdminAPI() throws {
        let harness = try ManagerHarness()
        let admin = try self.client(harness)
        #expect(admin.session.accountID == harness.accountID)
        #expect(admin.session.permissions.contains("account:admin"))

        var create = TokenCreateRequest()
        create.name = "ci"
        let created = try admin.call(.tokenCreate, create, as: TokenCreateResponse.self)
        let token = try DelegateToken.parse(created.value)
        #expect(created.token?.name == "ci" && created.token?.status == "active")
        let (_, events) = try harness.startDelegate(harness.delegateConfiguration(name: "api-1", token: token))
        #expect(events.first(where: \.isRegistered) != nil)

        var ref = TokenRef()
        ref.tokenID = token.id
        #expect(eventually {
            (try? admin.call(.tokenShow, ref, as: TokenShowResponse.self))?.delegates.first?.connected == true
        })
        let list = try admin.call(.tokenList, TokenListRequest(), as: TokenListResponse.self)
        #expect(list.tokens.map(\.name).sorted() == ["ci", "default"])
        #expect(list.tokens.first { $0.id == token.id }?.connectedDelegates == 1)
        #expect(try admin.call(.tokenCopy, ref, as: TokenCopyResponse.self).value == created.value)

        #expect(throws: AdminClientError.self) { try admin.call(.tokenDelete, ref, as: TokenDeleteResponse.self) }
        var revoke = TokenRevokeRequest()
        revoke.tokenID = token.id
        revoke.dryRun = true
        let dryRun = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
        #expect(dryRun.dryRun && dryRun.connected == 1 && dryRun.told == 0)
        revoke.dryRun = false
        let revoked = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
        #expect(revoked.connected == 1 && revoked.told == 1 && revoked.acknowledged == 1 && revoked.notReached == 0)
        #expect(events.first(where: \.isSelfDestructed) != nil)
        _ = try admin.call(.tokenDelete, ref, as: TokenDeleteResponse.self)

        var delegates = DelegateListRequest()
        delegates.tokenID = token.id
        let listed = try admin.call(.delegateList, delegates, as: DelegateListResponse.self)
        #expect(listed.delegates.count == 1 && listed.delegates.first?.connected == false)
        var show = DelegateRef()
        show.delegateID = listed.delegates.first?.id ?? ""
        #expect(try admin.call(.delegateShow, show, as: DelegateInfo.self).name == "api-1")

        let audit = try admin.call(.auditList, AuditListRequest(), as: AuditListResponse.self)
        let actions = Set(audit.entries.map(\.action))
        for step in ["admin.auth", "api.tokenCreate", "token.create", "token.copy", "api.tokenRevoke",
                     "token.revoke.dry-run", "token.revoke", "token.revoke.fan-out", "token.delete"] {
            #expect(actions.contains(step), "audit lacks \(step)")
        }
        #expect(audit.entries.contains { $0.action == "api.tokenDelete" && $0.outcome == "failedPrecondition" })
        #expect(audit.entries.allSatisfy { !$0.detail.contains(created.value) })
        #expect(!harness.log.text.contains(created.value), "a token value reached the log")
        admin.close()
    }

    @Test func keyWithoutThePermissionIsDenied() throws {
        let harness = try ManagerHarness()
        let viewer = try harness.manager.services.adminKeys.create(
            accountID: harness.accountID, name: "viewer", permissions: [.delegateView], actor: "test")
        let client = try self.client(harness, key: viewer.value)
        defer { client.close() }
        #expect(try client.call(.tokenList, TokenListRequest(), as: TokenListResponse.self).tokens.count == 1)
        var create = TokenCreateRequest()
        create.name = "nope"
        #expect(throws: AdminClientError.self) { try client.call(.tokenCreate, create, as: TokenCreateResponse.self) }
        do {
            var revoke = TokenRevokeRequest()
            revoke.tokenID = harness.token.id
            _ = try client.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
            Issue.record("revoke without delegate:delete succeeded")
        } catch {
            guard case .refused(let code, let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(code == .permissionDenied && message.contains("delegate:delete"))
        }
        #expect(harness.manager.tokens.entry(tokenID: harness.token.id)?.status == .active)
        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 50)
        #expect(audit.contains { $0.action == "api.tokenRevoke" && $0.outcome == "denied" && $0.actor == "admin:\(viewer.id)" })
    }

    @Test func badKeysAreRefusedWithoutEchoingThem() throws {
        let harness = try ManagerHarness()
        let forged = AdminAPIKey.generate().value
        for key in ["not-a-key", forged] {
            do {
                _ = try self.client(harness, key: key)
                Issue.record("a bad admin key was accepted")
            } catch {
                guard case .refused(let code, let message) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(code == .unauthenticated)
                #expect(!message.contains(key))
            }
        }
        #expect(!harness.log.text.contains(forged))
    }

    @Test func adminKeyHashOnlyIsStored() throws {
        let harness = try ManagerHarness()
        let value = try #require(harness.manager.report.newAdminKeyValue)
        let key = try #require(AdminAPIKey.parse(value))
        let stored = try #require(try harness.manager.stateStore.adminKey(id: key.id))
        #expect(stored.secretHash == key.secretHash && stored.secretHash.count == 32)
        let database = try Data(contentsOf: URL(fileURLWithPath: harness.dataDirectory + "/legate.db"))
        #expect(database.range(of: Data(value.utf8)) == nil)
        try harness.restart()
        #expect(harness.manager.report.newAdminKeyValue == nil)
        let again = try self.client(harness, key: value)
        #expect(again.session.keyID == key.id)
        again.close()
    }
}
