import LegateCore
import LegateHTTP
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// The console's actions end to end through its routes on the manager's services: each lands in the store as the
/// admin protocol call would, and the page says how it went.
struct ConsoleFlowTests {
    let fixture: ServiceFixture
    let browser: ConsoleBrowser
    let csrf: String

    init() throws {
        self.fixture = try ServiceFixture()
        self.browser = ConsoleBrowser(ConsoleRouter(services: self.fixture.services))
        let key = try self.fixture.services.adminKeys.create(
            accountID: ServiceFixture.accountID, name: "admin", permissions: [.accountAdmin], actor: "test")
        self.browser.signIn(key.value)
        self.csrf = self.browser.csrf()
    }

    func post(_ path: String, _ fields: [(String, String)]) -> (status: Int, html: String) {
        let response = self.browser.post(path, fields + [("csrf", self.csrf)])
        return (response.status.code, String(decoding: response.body, as: UTF8.self))
    }

    func page(_ target: String) -> String {
        String(decoding: self.browser.get(target).body, as: UTF8.self)
    }

    @Test func revokeShowsTheImpactFirstThenTheCountsThenDeleteRemovesIt() throws {
        let created = try self.fixture.services.tokenService.create(
            accountID: ServiceFixture.accountID, name: "ci", actor: "test")
        let id = created.record.id
        let preview = self.post("/console/tokens/revoke", [("id", id)])
        #expect(preview.status == 200 && preview.html.contains("id=\"revoke-preview\""))
        #expect(preview.html.contains("id=\"preview-connected\">0<"))
        #expect(try self.fixture.store.token(id: id)?.status == .active, "the dry run changes nothing")
        #expect(self.post("/console/tokens/delete", [("id", id)]).status == 409, "an active token is not deleted")

        let revoked = self.post("/console/tokens/revoke", [("id", id), ("confirm", "1")])
        #expect(revoked.html.contains("id=\"revoke-result\"") && revoked.html.contains("id=\"result-connected\">0<"))
        #expect(try self.fixture.store.token(id: id)?.status == .revoked)
        #expect(revoked.html.contains("/console/tokens/delete"), "Delete is offered once revoked")

        #expect(self.post("/console/tokens/delete", [("id", id)]).status == 200)
        #expect(try self.fixture.store.token(id: id) == nil)
    }

    @Test func rotateShowsTheSuccessorsValueOnce() throws {
        let created = try self.fixture.services.tokenService.create(
            accountID: ServiceFixture.accountID, name: "build", actor: "test")
        let rotated = self.post("/console/tokens/rotate", [("id", created.record.id), ("overlap", "60")])
        #expect(rotated.status == 200 && rotated.html.contains("id=\"rotate-result\""))
        #expect(rotated.html.contains("Token <strong>build-2</strong>") && rotated.html.contains(">lgt_"))
        let old = try #require(try self.fixture.store.token(id: created.record.id))
        #expect(old.expiresAt == self.fixture.clock.unixMilliseconds() + 60_000, "revoked at the end of the overlap")
        #expect(self.post("/console/tokens/rotate", [("id", created.record.id), ("overlap", "soon")]).status == 400)
    }

    @Test func pendingDelegatesAreDecidedOneByOneOrInBulk() throws {
        self.fixture.services.registry.load([
            self.fixture.delegate("d1", status: .pending), self.fixture.delegate("d2", status: .pending),
            self.fixture.delegate("d3", status: .pending),
        ])
        #expect(
            self.page("/console/delegates?state=pending").components(separatedBy: "data-state=\"pending\"").count == 4)
        let approved = self.post("/console/delegates/decide", [("id", "d1"), ("decision", "approve")])
        #expect(approved.html.contains("Approved 1 delegate(s)"))
        let rejected = self.post(
            "/console/delegates/decide", [("id", "d2"), ("decision", "reject"), ("reason", "<unknown> host")])
        #expect(rejected.html.contains("&lt;unknown&gt; host") && !rejected.html.contains("<unknown>"))
        #expect(self.fixture.services.registry.record(id: "d2")?.decisionReason == "<unknown> host")
        let bulk = self.post("/console/delegates/decide", [("token", "tok"), ("decision", "approve")])
        #expect(bulk.html.contains("Approved 1 delegate(s)"), "only d3 was still pending")
        #expect(self.fixture.services.registry.record(id: "d3")?.status != .pending)
        #expect(self.post("/console/delegates/decide", [("decision", "approve")]).status == 400, "named no way")
        #expect(self.post("/console/delegates/delete", [("id", "d1")]).status == 200)
        #expect(self.fixture.services.registry.record(id: "d1") == nil)
    }

    @Test func profilesAreCreatedEditedAndDeletedWhenUnused() throws {
        let created = self.post(
            "/console/profiles/save",
            [
                ("name", "gated"), ("requires_approval", "1"), ("rules", "cidr=10.0.0.0/8&host=ci-*"),
                ("startup_script", "echo one\r\necho two"), ("update", "0"),
            ])
        #expect(created.status == 200)
        let stored = try #require(
            self.fixture.services.profiles.profile(accountID: ServiceFixture.accountID, name: "gated"))
        #expect(
            stored.requiresApproval && stored.startupScript == "echo one\necho two" && stored.autoApproval.count == 1)
        #expect(self.page("/console/profiles?edit=gated").contains("Edit profile gated"))
        #expect(self.post("/console/profiles/save", [("name", "gated"), ("update", "1")]).status == 200)
        #expect(
            self.fixture.services.profiles.profile(accountID: ServiceFixture.accountID, name: "gated")?.requiresApproval
                == false)
        #expect(self.post("/console/profiles/save", [("name", "bad"), ("rules", "cidr=nonsense")]).status == 400)
        #expect(self.post("/console/profiles/delete", [("name", "gated")]).status == 200)
        #expect(self.fixture.services.profiles.profile(accountID: ServiceFixture.accountID, name: "gated") == nil)
    }

    @Test func aSubmittedTaskIsShownAndCancelled() throws {
        let submitted = self.post("/console/tasks/submit", [("type", "echo"), ("payload", "hi <there>")])
        #expect(submitted.status == 200 && submitted.html.contains("data-final=\"false\""))
        #expect(submitted.html.contains("hi &lt;there&gt;"))
        let start = try #require(submitted.html.range(of: "/console/task/live?id="))
        let id = String(submitted.html[start.upperBound...].prefix { $0 != "\"" })
        let live = self.page("/console/task/live?id=\(id)")
        #expect(live.contains("\"state\":\"queued\"") && live.contains("\"final\":false"))
        #expect(self.page("/console/tasks?state=queued").contains(id))
        #expect(!self.page("/console/tasks?state=running").contains(id))
        #expect(!self.page("/console/tasks?type=shell").contains(id))
        let cancelled = self.post("/console/tasks/cancel", [("id", id), ("reason", "not needed")])
        #expect(cancelled.html.contains("class=\"badge cancelled\">cancelled<"))
        #expect(self.post("/console/tasks/submit", [("type", "docker"), ("payload", "x")]).status == 400)
    }

    @Test func auditFiltersByActionAndActor() throws {
        _ = self.post("/console/tokens/create", [("name", "audited")])
        let tokens = self.page("/console/audit?action=token.%2A")
        #expect(tokens.contains(">token.create<"))
        #expect(!tokens.contains(">api.tokenList<"))
        let nobody = self.page("/console/audit?actor=admin%3Anobody")
        #expect(nobody.contains("No audit rows match."))
        #expect(self.browser.get("/console/audit?since=yesterday").status.code == 400)
    }
}
