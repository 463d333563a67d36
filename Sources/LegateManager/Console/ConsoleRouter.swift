import LegateCore
import LegateHTTP
import LegateNet
import LegateStore

/// One console request after its session was checked: who asks, with which form.
struct ConsoleContext: Sendable {
    /// The request as received.
    let request: HTTPRequest
    /// The query (GET) or the form body (POST).
    let form: ConsoleForm
    /// The live session.
    let session: ConsoleSession
    /// The same, as the renderers see it.
    let viewer: ConsoleViewer
    /// The clock's time, Unix ms.
    let now: Int64
}

/// The web console on the manager's HTTP endpoint: sign-in with an admin API key, a server-side session in a
/// cookie, a CSRF token on every POST, and pages that read and act through the admin router (the same
/// permissions, scopes, services and audit as the admin protocol). Request -> here -> admin router -> renderer.
final class ConsoleRouter: Sendable {
    /// Signed-in browsers.
    let sessions: ConsoleSessions
    /// The way into the admin router.
    let calls: ConsoleAdminCalls
    private let adminKeys: AdminKeyService
    /// The manager's clock (page times, session expiry).
    let clock: any ServiceClock

    /// Creates the console over the manager's services.
    init(services: ManagerServices, policy: ConsoleSessionPolicy = ConsoleSessionPolicy()) {
        let store = services.store
        self.sessions = ConsoleSessions(clock: services.clock, policy: policy) { keyID, now in
            // A key revoked or expired since sign-in ends its sessions; an unreadable store refuses (fail closed).
            guard let record = try? store.adminKey(id: keyID) else { return false }
            return record.isUsable(at: now)
        }
        self.calls = ConsoleAdminCalls(router: services.adminRouter)
        self.adminKeys = services.adminKeys
        self.clock = services.clock
    }

    /// Adds every console path to `router`.
    func register(into router: inout HTTPRouter) {
        router.get("/console") { [self] request in
            self.sessionFrom(request) == nil ? Self.redirect("/console/signin") : Self.redirect("/console/tokens")
        }
        router.get("/console/signin") { _ in ConsoleLayout.response(html: ConsoleAuditPages.signIn(error: nil)) }
        router.add("POST", "/console/signin") { [self] request in self.signIn(request) }
        router.get(ConsoleAssets.stylesheetPath) { _ in
            Self.asset(ConsoleAssets.stylesheet, type: "text/css; charset=utf-8")
        }
        router.get(ConsoleAssets.scriptPath) { _ in
            Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8")
        }
        router.add("POST", "/console/signout") { [self] request in
            self.post(request) { _ throws(AdminError) in
                if let id = request.cookie(ConsoleSessions.cookieName) { self.sessions.end(id: id) }
                var response = Self.redirect("/console/signin")
                response.headers.append(
                    HTTPHeader(
                        name: "Set-Cookie",
                        value: "\(ConsoleSessions.cookieName)=; Max-Age=0; HttpOnly; Secure; SameSite=Strict; Path=/"))
                return response
            }
        }
        self.registerPages(into: &router)
        self.registerActions(into: &router)
    }

    // MARK: - Sessions

    /// The live session a request's cookie names, with its id.
    func sessionFrom(_ request: HTTPRequest) -> (id: String, session: ConsoleSession)? {
        guard let id = request.cookie(ConsoleSessions.cookieName), !id.isEmpty,
            let session = self.sessions.session(id: id)
        else { return nil }
        return (id, session)
    }

    private func signIn(_ request: HTTPRequest) -> HTTPResponse {
        guard Self.sameOrigin(request) else {
            return Self.refusal("the sign-in form was sent from another site; open the console directly")
        }
        let key = ConsoleForm(request: request)["key"]
        guard !key.isEmpty else {
            return ConsoleLayout.response(
                ConsoleStatus.unauthorized, html: ConsoleAuditPages.signIn(error: "enter an admin API key"))
        }
        switch self.adminKeys.authenticate(apiKey: key, peer: "console") {
        case .failure(let error):
            return ConsoleLayout.response(error.httpStatus, html: ConsoleAuditPages.signIn(error: error.message))
        case .success(let admin):
            // A fresh id on every sign-in; the browser's previous session (if any) ends rather than lingering.
            if let previous = request.cookie(ConsoleSessions.cookieName) { self.sessions.end(id: previous) }
            let (id, _) = self.sessions.create(for: admin)
            var response = Self.redirect("/console/tokens")
            response.headers.append(
                HTTPHeader(
                    name: "Set-Cookie",
                    value: "\(ConsoleSessions.cookieName)=\(id); HttpOnly; Secure; SameSite=Strict; Path=/"))
            return response
        }
    }

    // MARK: - Request plumbing

    /// Serves a GET page: without a live session, the sign-in page instead.
    func get(
        _ request: HTTPRequest, _ body: (ConsoleContext) throws(AdminError) -> HTTPResponse
    ) -> HTTPResponse {
        guard let (_, session) = self.sessionFrom(request) else { return Self.redirect("/console/signin") }
        let context = ConsoleContext(
            request: request, form: ConsoleForm(request: request), session: session,
            viewer: ConsoleViewer(session: session), now: self.clock.unixMilliseconds())
        do throws(AdminError) {
            return try body(context)
        } catch {
            return self.errorPage(error, viewer: context.viewer)
        }
    }

    /// Serves a POST: refused with 403 without a live session, from another site, or without the session's CSRF
    /// token; the permission checks of the call itself follow in the admin router.
    func post(
        _ request: HTTPRequest, _ body: (ConsoleContext) throws(AdminError) -> HTTPResponse
    ) -> HTTPResponse {
        guard let (_, session) = self.sessionFrom(request) else {
            return Self.refusal("no console session (signed out or expired); sign in again")
        }
        guard Self.sameOrigin(request) else {
            return Self.refusal("the form was sent from another site; use the console's own pages")
        }
        let form = ConsoleForm(request: request)
        guard ConsoleSessions.csrfMatches(form.raw("csrf"), session: session) else {
            return Self.refusal("the form's CSRF token is missing or wrong; reload the page and try again")
        }
        let context = ConsoleContext(
            request: request, form: form, session: session, viewer: ConsoleViewer(session: session),
            now: self.clock.unixMilliseconds())
        do throws(AdminError) {
            return try body(context)
        } catch {
            return self.errorPage(error, viewer: context.viewer)
        }
    }

    /// A page saying why a call was refused, with the matching status.
    func errorPage(_ error: AdminError, viewer: ConsoleViewer) -> HTTPResponse {
        let html = ConsoleLayout.page(
            title: "Refused", current: nil, viewer: viewer, flash: .error(error.message),
            body: "<p><a href=\"/console/tokens\">Back to the console</a></p>")
        return ConsoleLayout.response(error.httpStatus, html: html)
    }

    /// 403 with a page saying why (no session, another site, a bad CSRF token).
    static func refusal(_ why: String) -> HTTPResponse {
        let html = ConsoleLayout.page(
            title: "Refused", current: nil, viewer: nil, flash: .error(why),
            body: "<p><a href=\"/console/signin\">Sign in</a></p>")
        return ConsoleLayout.response(ConsoleStatus.forbidden, html: html)
    }

    /// 303 to `location` with the security headers.
    static func redirect(_ location: String) -> HTTPResponse {
        var response = HTTPResponse(
            status: ConsoleStatus.seeOther, headers: [HTTPHeader(name: "Location", value: location)])
        response.headers += ConsoleLayout.securityHeaders
        return response
    }

    /// A browser says where a POST came from: `Sec-Fetch-Site` (sent whatever the referrer policy) must be
    /// `same-origin`, and an `Origin` naming another host is refused. Requests without either (not from a
    /// browser) pass: the CSRF token and the SameSite cookie still hold. With `Referrer-Policy: no-referrer` a
    /// form's `Origin` is `null`, which says nothing, so it is not refused.
    static func sameOrigin(_ request: HTTPRequest) -> Bool {
        if let site = request.header("sec-fetch-site"), site != "same-origin" { return false }
        guard let origin = request.header("origin"), origin != "null" else { return true }
        guard let host = request.header("host"), let schemeEnd = origin.range(of: "://") else { return false }
        return origin[schemeEnd.upperBound...] == host[...]
    }

    private static func asset(_ text: String, type: String) -> HTTPResponse {
        var response = HTTPResponse.text(.ok, text, contentType: type)
        response.headers += ConsoleLayout.securityHeaders.filter { $0.name != "Cache-Control" }
        response.headers.append(HTTPHeader(name: "Cache-Control", value: "no-cache"))
        return response
    }
}
