import Dispatch
import LegateAdminClient
import LegateCore
import LegateDelegate
@testable import LegateManager
import LegateTestSupport
import LegateWire
import Synchronization
import Testing

/// Admin keys and tokens at account, org and project scope, through the admin API.
@Suite(.serialized) struct AdminScopeTests {
    func client(_ harness: ManagerHarness, key: String) throws(AdminClientError) -> AdminClient {
        try AdminClient.connect(
            host: "127.0.0.1", port: harness.port, caFile: harness.caFile, serverName: "localhost", apiKey: key,
            loop: harness.group.next())
    }

    func key(_ harness: ManagerHarness, _ name: String, _ scope: Scope) throws -> String {
        try harness.manager.services.adminKeys.create(
            accountID: harness.accountID, name: name,
            permissions: [.delegateView, .delegateEdit, .delegateDelete], actor: "test", scope: scope
        ).value
    }

    func create(_ client: AdminClient, _ name: String, _ scope: String) throws -> TokenInfo {
        var request = TokenCreateRequest()
        request.name = name
        request.scope = scope
        return try #require(try client.call(.tokenCreate, request, as: TokenCreateResponse.self).token)
    }

    func refusal(_ body: () throws -> Void) -> (code: StatusCode, message: String)? {
        do {
            try body()
            return nil
        } catch let error as AdminClientError {
            guard case .refused(let code, let message) = error else { return nil }
            return (code, message)
        } catch {
            return nil
        }
    }

    @Test func projectKeyCannotSeeOrRevokeAnOrgToken() throws {
        let harness = try ManagerHarness()
        let org = try self.client(harness, key: try self.key(harness, "org", .org("acme")))
        defer { org.close() }
        let project = try self.client(harness, key: try self.key(harness, "web", .project(org: "acme", project: "web")))
        defer { project.close() }
        let orgToken = try self.create(org, "shared", "org/acme")
        #expect(orgToken.scope == "org/acme")

        let listed = try project.call(.tokenList, TokenListRequest(), as: TokenListResponse.self).tokens
        #expect(listed.isEmpty, "a project key saw \(listed.map(\.scope))")
        var revoke = TokenRevokeRequest()
        revoke.tokenID = orgToken.id
        let refused = self.refusal { _ = try project.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self) }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.contains("project/acme/web") == true && refused?.message.contains("org/acme") == true)
        var ref = TokenRef()
        ref.tokenID = orgToken.id
        for call in [AdminMethod.tokenShow, .tokenCopy, .tokenDelete] {
            let denied = self.refusal { _ = try project.call(call, ref, as: TokenCopyResponse.self) }
            #expect(denied?.code == .permissionDenied, "\(call) was not denied")
        }
        var rotate = TokenRotateRequest()
        rotate.tokenID = orgToken.id
        #expect(self.refusal { _ = try project.call(.tokenRotate, rotate, as: TokenCreateResponse.self) }?.code
            == .permissionDenied)
        // Nor may it create a token outside its scope, or at account scope by default.
        #expect(self.refusal { _ = try self.create(project, "wide", "org/acme") }?.code == .permissionDenied)
        #expect(self.refusal { _ = try self.create(project, "wide", "") }?.code == .permissionDenied)
        #expect(harness.manager.tokens.entry(tokenID: orgToken.id)?.status == .active)
    }

    @Test func orgKeyManagesItsProjectsTokens() throws {
        let harness = try ManagerHarness()
        let org = try self.client(harness, key: try self.key(harness, "org", .org("acme")))
        defer { org.close() }
        let project = try self.client(harness, key: try self.key(harness, "web", .project(org: "acme", project: "web")))
        defer { project.close() }
        let webToken = try self.create(project, "ci", "project/acme/web")
        let account = try self.client(harness, key: harness.manager.report.newAdminKeyValue ?? "")
        defer { account.close() }
        let otherOrg = try self.create(account, "ci", "org/globex")

        let seen = try org.call(.tokenList, TokenListRequest(), as: TokenListResponse.self).tokens.map(\.id)
        #expect(seen == [webToken.id], "org key list: \(seen)")
        var ref = TokenRef()
        ref.tokenID = webToken.id
        #expect(try org.call(.tokenShow, ref, as: TokenShowResponse.self).token?.scope == "project/acme/web")
        var rotate = TokenRotateRequest()
        rotate.tokenID = webToken.id
        let rotated = try org.call(.tokenRotate, rotate, as: TokenRotateResponse.self)
        #expect(rotated.token?.scope == "project/acme/web" && rotated.token?.name == "ci-2")
        var revoke = TokenRevokeRequest()
        revoke.tokenID = webToken.id
        #expect(try org.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self).tokenID == webToken.id)
        _ = try org.call(.tokenDelete, ref, as: TokenDeleteResponse.self)
        ref.tokenID = otherOrg.id
        let hidden = self.refusal { _ = try org.call(.tokenShow, ref, as: TokenShowResponse.self) }
        #expect(hidden?.code == .permissionDenied)
        // The audit spans all scopes, so a narrower key cannot list it even with account:admin.
        #expect(self.refusal { _ = try org.call(.auditList, AuditListRequest(), as: AuditListResponse.self) }?.code
            == .permissionDenied)
    }

    @Test func namesAreUniqueWithinAScopeAndAuditCarriesTheScope() throws {
        let harness = try ManagerHarness()
        let admin = try self.client(harness, key: harness.manager.report.newAdminKeyValue ?? "")
        defer { admin.close() }
        _ = try self.create(admin, "ci", "org/acme")
        _ = try self.create(admin, "ci", "project/acme/web")
        _ = try self.create(admin, "ci", "")
        let twice = self.refusal { _ = try self.create(admin, "ci", "org/acme") }
        #expect(twice?.code == .failedPrecondition && twice?.message.contains("org/acme") == true)
        let bad = self.refusal { _ = try self.create(admin, "x", "project/acme") }
        #expect(bad?.code == .invalidArgument && bad?.message.contains("project") == true)
        let summaries = try harness.manager.services.tokenService.summaries(accountID: harness.accountID)
        #expect(summaries.filter { $0.name == "ci" }.count == 3)

        harness.manager.flushStore()
        let audit = try harness.manager.stateStore.auditRecords(accountID: harness.accountID, limit: 200)
        let creates = audit.filter { $0.action == "token.create" }.map(\.detail)
        #expect(creates.contains { $0.contains("scope=org/acme") })
        #expect(creates.contains { $0.contains("scope=project/acme/web") })
        #expect(creates.contains { $0.contains("scope=account") })
        #expect(audit.contains { $0.action == "api.tokenCreate" && $0.detail.contains("keyScope=account") })
    }

    @Test func concurrentCreatesOfOneNameInOneScopeMakeOneToken() throws {
        let harness = try ManagerHarness()
        let successes = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let made = try? harness.manager.services.tokenService.create(
                accountID: harness.accountID, name: "race", actor: "test", scope: .org("acme"))
            if made != nil { successes.withLock { $0 += 1 } }
        }
        #expect(successes.withLock { $0 } == 1)
        let summaries = try harness.manager.services.tokenService.summaries(accountID: harness.accountID)
        #expect(summaries.filter { $0.name == "race" }.count == 1)
    }
}
