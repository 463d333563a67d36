import LegateCore
import LegateHTTP
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// A browser as the console's router sees it: requests straight into the routes (no socket), a cookie jar of one.
final class ConsoleBrowser {
    let router: HTTPRouter
    var cookie: String?

    init(_ console: ConsoleRouter) {
        var router = HTTPRouter()
        console.register(into: &router)
        self.router = router
    }

    func get(_ target: String) -> HTTPResponse {
        self.router.respond(to: HTTPRequest(method: "GET", target: target, headers: self.headers()))
    }

    func post(_ target: String, _ fields: [(String, String)], extra: [HTTPHeader] = []) -> HTTPResponse {
        let body = fields.map { "\($0.0)=\(HTML.queryValue($0.1))" }.joined(separator: "&")
        return self.router.respond(
            to: HTTPRequest(method: "POST", target: target, headers: self.headers() + extra, body: Array(body.utf8)))
    }

    /// Signs in with `key`; the session cookie is kept.
    @discardableResult
    func signIn(_ key: String) -> HTTPResponse {
        let response = self.post("/console/signin", [("key", key)])
        if let set = response.header("Set-Cookie"), let value = set.split(separator: ";").first {
            self.cookie = String(value)
        }
        return response
    }

    /// The CSRF token of the forms on `target`.
    func csrf(on target: String = "/console/tokens") -> String {
        let html = String(decoding: self.get(target).body, as: UTF8.self)
        guard let start = html.range(of: "name=\"csrf\" value=\"") else { return "" }
        return String(html[start.upperBound...].prefix(64))
    }

    private func headers() -> [HTTPHeader] {
        [HTTPHeader(name: "Host", value: "127.0.0.1:9443")]
            + (self.cookie.map { [HTTPHeader(name: "Cookie", value: $0)] } ?? [])
    }
}

/// Sign-in, sessions, CSRF and permissions of the console, on the manager's services with a manual clock.
struct ConsoleSessionTests {
    let fixture: ServiceFixture
    let console: ConsoleRouter

    init() throws {
        self.fixture = try ServiceFixture()
        self.console = ConsoleRouter(
            services: self.fixture.services,
            policy: ConsoleSessionPolicy(idleTimeout: .seconds(600), absoluteTimeout: .seconds(3600)))
    }

    func key(_ permissions: [AdminPermission]) throws -> String {
        try self.fixture.services.adminKeys.create(
            accountID: ServiceFixture.accountID, name: "k\(permissions.count)", permissions: permissions,
            actor: "test"
        ).value
    }

    func tokenStatus(_ id: String) throws -> TokenStatus? {
        try self.fixture.store.token(id: id)?.status
    }

    @Test func signInSetsAStrictSecureCookieAndEveryPageCarriesTheSecurityHeaders() throws {
        let browser = ConsoleBrowser(self.console)
        #expect(browser.get("/console/tokens").header("Location") == "/console/signin", "signed out: to sign-in")
        let signedIn = browser.signIn(try self.key([.accountAdmin]))
        #expect(signedIn.status.code == 303)
        let cookie = try #require(signedIn.header("Set-Cookie"))
        #expect(cookie.hasPrefix("legate_console=") && cookie.contains("; HttpOnly; Secure; SameSite=Strict; Path=/"))
        for path in ["/console/tokens", "/console/delegates", "/console/profiles", "/console/tasks", "/console/audit"] {
            let page = browser.get(path)
            #expect(page.status.code == 200, "\(path)")
            #expect(
                page.header("Content-Security-Policy")?.hasPrefix("default-src 'self'; frame-ancestors 'none'") == true)
            #expect(page.header("X-Content-Type-Options") == "nosniff")
            #expect(page.header("Referrer-Policy") == "no-referrer")
            #expect(!String(decoding: page.body, as: UTF8.self).contains("<script>"), "no inline script")
        }
        #expect(browser.get(ConsoleAssets.scriptPath).header("Content-Type")?.hasPrefix("text/javascript") == true)
    }

    @Test func aWrongKeyIsRefusedWithoutACookie() throws {
        let browser = ConsoleBrowser(self.console)
        let refused = browser.signIn("lak_aaaaaaaaaaaaaaaa_" + String(repeating: "b", count: 52))
        #expect(refused.status.code == 401)
        #expect(refused.header("Set-Cookie") == nil)
        #expect(browser.get("/console/tokens").status.code == 303)
    }

    @Test func aPostWithoutTheSessionsCSRFTokenIsRefused() throws {
        let browser = ConsoleBrowser(self.console)
        browser.signIn(try self.key([.accountAdmin]))
        #expect(browser.post("/console/tokens/create", [("name", "a")]).status.code == 403)
        #expect(
            browser.post("/console/tokens/create", [("name", "b"), ("csrf", String(repeating: "0", count: 64))]).status
                .code == 403)
        let other = ConsoleBrowser(self.console)
        other.signIn(try self.key([.accountAdmin, .delegateView]))
        #expect(
            browser.post("/console/tokens/create", [("name", "c"), ("csrf", other.csrf())]).status.code == 403,
            "another session's token")
        let crossSite = [HTTPHeader(name: "Sec-Fetch-Site", value: "cross-site")]
        #expect(
            browser.post("/console/tokens/create", [("name", "d"), ("csrf", browser.csrf())], extra: crossSite).status
                .code == 403)
        #expect(try self.fixture.store.tokens(accountID: ServiceFixture.accountID).isEmpty, "nothing was created")
        let created = browser.post("/console/tokens/create", [("name", "e"), ("csrf", browser.csrf())])
        #expect(created.status.code == 200)
        #expect(String(decoding: created.body, as: UTF8.self).contains("id=\"token-value\">lgt_"), "the value, once")
        #expect(!String(decoding: browser.get("/console/tokens").body, as: UTF8.self).contains("token-value"))
    }

    @Test func aViewOnlyKeysPostsAreRefusedWith403() throws {
        let created = try self.fixture.services.tokenService.create(
            accountID: ServiceFixture.accountID, name: "ci", actor: "test")
        let browser = ConsoleBrowser(self.console)
        browser.signIn(try self.key([.delegateView, .taskView]))
        let page = String(decoding: browser.get("/console/tokens").body, as: UTF8.self)
        #expect(page.contains("ci") && !page.contains("/console/tokens/revoke"), "listed without a Revoke button")
        let csrf = browser.csrf()
        for (path, fields) in [
            ("/console/tokens/revoke", [("id", created.record.id), ("confirm", "1")]),
            ("/console/tokens/revoke", [("id", created.record.id)]), ("/console/tokens/create", [("name", "x")]),
            ("/console/tokens/delete", [("id", created.record.id)]),
            ("/console/profiles/save", [("name", "p")]), ("/console/tasks/submit", [("type", "echo")]),
        ] {
            #expect(browser.post(path, fields + [("csrf", csrf)]).status.code == 403, "\(path)")
        }
        #expect(try self.tokenStatus(created.record.id) == .active)
    }

    @Test func signingInAgainEndsThePreviousSession() throws {
        let browser = ConsoleBrowser(self.console)
        let key = try self.key([.accountAdmin])
        browser.signIn(key)
        let first = try #require(browser.cookie)
        browser.signIn(key)
        #expect(browser.cookie != first, "a new id")
        #expect(self.console.sessions.count == 1)
        browser.cookie = first
        #expect(browser.get("/console/tokens").status.code == 303, "the old id no longer opens a page")
    }

    @Test func signOutEndsTheSession() throws {
        let browser = ConsoleBrowser(self.console)
        browser.signIn(try self.key([.accountAdmin]))
        let csrf = browser.csrf()
        let out = browser.post("/console/signout", [("csrf", csrf)])
        #expect(out.status.code == 303 && out.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(browser.get("/console/tokens").header("Location") == "/console/signin", "the old cookie is refused")
        #expect(browser.post("/console/tokens/create", [("name", "x"), ("csrf", csrf)]).status.code == 403)
        #expect(self.console.sessions.count == 0)
    }

    @Test func sessionsEndWhenIdleAndAtTheirAbsoluteExpiry() throws {
        let browser = ConsoleBrowser(self.console)
        browser.signIn(try self.key([.accountAdmin]))
        // Used every 9 minutes (idle limit 10), the session lives until one hour after sign-in.
        for _ in 0..<6 {
            self.fixture.clock.advance(by: .seconds(540))
            #expect(browser.get("/console/tokens").status.code == 200)
        }
        self.fixture.clock.advance(by: .seconds(540))
        #expect(browser.get("/console/tokens").status.code == 303, "past the absolute expiry")

        browser.signIn(try self.key([.accountAdmin, .taskView]))
        self.fixture.clock.advance(by: .seconds(599))
        #expect(browser.get("/console/tokens").status.code == 200)
        self.fixture.clock.advance(by: .seconds(600))
        #expect(browser.get("/console/tokens").status.code == 303, "idle for the whole timeout")
    }

    @Test func aRevokedOrExpiredKeyEndsItsSessions() throws {
        let browser = ConsoleBrowser(self.console)
        let created = try self.fixture.services.adminKeys.createKey(
            accountID: ServiceFixture.accountID, name: "short", permissions: [.accountAdmin], actor: "test",
            scope: .account, expiresAt: self.fixture.clock.unixMilliseconds() + 120_000)
        browser.signIn(created.key.value)
        #expect(browser.get("/console/tokens").status.code == 200)
        self.fixture.clock.advance(by: .seconds(121))
        #expect(browser.get("/console/tokens").status.code == 303, "the key expired")

        let other = ConsoleBrowser(self.console)
        let value = try self.key([.accountAdmin])
        other.signIn(value)
        #expect(other.get("/console/tokens").status.code == 200)
        let id = try #require(AdminAPIKey.parse(value)).id
        var reference = AdminKeyRef()
        reference.keyID = id
        let _: AdminKeyInfo = try self.console.calls.call(.adminKeyRevoke, reference, as: self.fixture.session)
        #expect(other.get("/console/tokens").status.code == 303, "the key was revoked")
    }

    @Test func plainHTTPIsRefusedOffLoopbackSoTheConsoleIsNeverServedInTheClear() throws {
        #expect(throws: Never.self) {
            try HTTPEndpointConfiguration(port: 0, host: "127.0.0.1", plain: true).validate()
        }
        #expect(throws: Never.self) { try HTTPEndpointConfiguration(port: 0, host: "0.0.0.0").validate() }
        do {
            try HTTPEndpointConfiguration(port: 0, host: "0.0.0.0", plain: true).validate()
            Issue.record("plain HTTP on a non-loopback address was accepted")
        } catch {
            #expect(error.description.contains("web console"), "\(error)")
        }
    }
}

/// The console on a running manager's HTTP endpoint: every answer of the port carries the security headers.
@Suite(.serialized) struct ConsoleEndpointTests {
    @Test func everyAnswerOfThePortCarriesTheSecurityHeaders() throws {
        let harness = try ManagerHarness { $0.http = HTTPEndpointConfiguration(port: 0, plain: true) }
        let port = try #require(harness.manager.httpPort)
        for target in ["/console/signin", "/console/nope", "/console", "/metrics", ConsoleAssets.stylesheetPath] {
            let socket = try #require(PlainSocket(port: port))
            let answer = try #require(socket.exchange("GET \(target) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
            #expect(answer.headers["content-security-policy"]?.hasPrefix("default-src 'self'") == true, "\(target)")
            #expect(answer.headers["x-content-type-options"] == "nosniff", "\(target)")
            #expect(answer.headers["referrer-policy"] == "no-referrer", "\(target)")
        }
    }
}
