import LegateCore
import LegateHTTP
import LegateWire
import Testing

@testable import LegateManager

/// The console's pure parts: the one escaping function, the renderers' permission gating, form and time parsing.
struct ConsoleRenderingTests {
    static let admin = ConsoleViewer(
        keyID: "k1", permissions: [.accountAdmin], scope: "account", csrfToken: String(repeating: "a", count: 64))
    static let viewOnly = ConsoleViewer(
        keyID: "k2", permissions: [.delegateView, .taskView], scope: "account",
        csrfToken: String(repeating: "b", count: 64))
    static let now: Int64 = 1_767_225_600_000

    @Test func escapeReplacesEveryMarkupCharacter() {
        #expect(
            HTML.escape("<script>alert('x')</script> & \"q\"")
                == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        #expect(HTML.escape("plain text, ünïcödé") == "plain text, ünïcödé")
        #expect(HTML.escape(bytes: [0x3C, 0xFF, 0x3E]) == "&lt;\u{FFFD}&gt;", "invalid UTF-8 becomes U+FFFD")
        #expect(HTML.queryValue("a b&c=<d>") == "a%20b%26c%3D%3Cd%3E")
    }

    static func delegate(name: String, status: String) -> DelegateInfo {
        var info = DelegateInfo()
        info.id = "dlg_1"
        info.name = name
        info.hostname = "<b>host</b>"
        info.status = status
        info.tokenID = "tok_1"
        info.decisionReason = "<i>why</i>"
        return info
    }

    @Test func delegateAndTaskTextIsEscaped() {
        let page = ConsoleDelegatesPage(
            delegates: [Self.delegate(name: "<script>alert(1)</script>", status: "pending")], state: "", tokenID: "",
            profiles: ["default"], tokens: [(id: "tok_1", name: "<u>tok</u>")])
        let html = ConsoleDelegatePages.render(page, viewer: Self.admin, now: Self.now, flash: .error("<x>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<script>alert"))
        #expect(
            !html.contains("<b>host") && !html.contains("<i>why") && !html.contains("<u>tok") && !html.contains("<x>"))

        var task = TaskInfo()
        task.id = "tsk_1"
        task.type = "shell"
        task.state = .running
        task.output = Array("<img src=x onerror=alert(1)>".utf8)
        var logs = TaskLogsResponse()
        var chunk = TaskLogChunk()
        chunk.attempt = 1
        chunk.data = Array("</pre><script>".utf8)
        logs.chunks = [chunk]
        let taskPage = ConsoleTaskPages.renderTask(task, logs: logs, viewer: Self.admin, now: Self.now, flash: nil)
        #expect(taskPage.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!taskPage.contains("<img") && !taskPage.contains("</pre><script>"))
        let json = ConsoleTaskPages.liveJSON(task, logs: logs)
        #expect(!json.contains("<") && json.contains("\\u003cimg"))
        #expect(json.contains("\"state\":\"running\"") && json.contains("\"final\":false"))
    }

    @Test func aViewOnlyViewerGetsNoEditButtons() {
        var token = TokenInfo()
        token.id = "tok_1"
        token.name = "ci"
        token.status = "active"
        var revoked = token
        revoked.id = "tok_2"
        revoked.status = "revoked"
        let tokens = ConsoleTokensPage(tokens: [token, revoked])
        let adminTokens = ConsoleTokenPages.render(tokens, viewer: Self.admin, now: Self.now, flash: nil)
        for action in ["tokens/create", "tokens/revoke", "tokens/rotate", "tokens/copy", "tokens/delete"] {
            #expect(adminTokens.contains("/console/\(action)"), "admin sees \(action)")
        }
        let viewTokens = ConsoleTokenPages.render(tokens, viewer: Self.viewOnly, now: Self.now, flash: nil)
        #expect(!viewTokens.contains("/console/tokens/"), "view-only sees no token action")
        #expect(viewTokens.contains("ci"))

        let delegates = ConsoleDelegatesPage(
            delegates: [Self.delegate(name: "d", status: "pending")], state: "", tokenID: "", profiles: [], tokens: [])
        let adminDelegates = ConsoleDelegatePages.render(delegates, viewer: Self.admin, now: Self.now, flash: nil)
        #expect(
            adminDelegates.contains("/console/delegates/decide") && adminDelegates.contains("/console/delegates/delete")
        )
        let viewDelegates = ConsoleDelegatePages.render(delegates, viewer: Self.viewOnly, now: Self.now, flash: nil)
        #expect(!viewDelegates.contains("method=\"post\" action=\"/console/delegates"))

        var profile = ProfileInfo()
        profile.name = "unused"
        let viewProfiles = ConsoleProfilePages.render(
            [profile], editing: nil, viewer: Self.viewOnly, now: Self.now, flash: nil)
        #expect(!viewProfiles.contains("/console/profiles/save") && !viewProfiles.contains("/console/profiles/delete"))
        let adminProfiles = ConsoleProfilePages.render(
            [profile], editing: nil, viewer: Self.admin, now: Self.now, flash: nil)
        #expect(adminProfiles.contains("/console/profiles/save") && adminProfiles.contains("/console/profiles/delete"))

        var task = TaskInfo()
        task.id = "tsk_1"
        task.state = .queued
        let page = ConsoleTasksPage(tasks: [task], state: "", type: "", delegateID: "", more: false)
        let viewTasks = ConsoleTaskPages.render(page, viewer: Self.viewOnly, now: Self.now, flash: nil)
        #expect(!viewTasks.contains("/console/tasks/submit") && !viewTasks.contains("/console/tasks/cancel"))
        let adminTasks = ConsoleTaskPages.render(page, viewer: Self.admin, now: Self.now, flash: nil)
        #expect(adminTasks.contains("/console/tasks/submit") && adminTasks.contains("/console/tasks/cancel"))
    }

    @Test func everyFormCarriesTheCSRFToken() {
        let html = ConsoleTokenPages.render(
            ConsoleTokensPage(tokens: []), viewer: Self.admin, now: Self.now, flash: nil)
        let forms = html.components(separatedBy: "method=\"post\"").count - 1
        let tokens = html.components(separatedBy: "name=\"csrf\" value=\"\(Self.admin.csrfToken)\"").count - 1
        #expect(forms == 2, "New Token and Sign out")
        #expect(tokens == forms)
    }

    @Test func csrfComparison() {
        let session = ConsoleSession(
            admin: AdminSession(keyID: "k", accountID: "a", permissions: [], scope: .account),
            csrfToken: "0123456789abcdef", createdAt: 0, lastSeenAt: 0)
        #expect(ConsoleSessions.csrfMatches("0123456789abcdef", session: session))
        #expect(!ConsoleSessions.csrfMatches("0123456789abcdee", session: session))
        #expect(!ConsoleSessions.csrfMatches("0123456789abcdef0", session: session))
        #expect(!ConsoleSessions.csrfMatches("", session: session))
    }

    @Test func formsQueriesAndCookiesDecode() {
        let form = ConsoleForm(encoded: "a=1&b=x+y&c=%3Cscript%3E&d&e=%zz&a=2")
        #expect(form["a"] == "1" && form["b"] == "x y" && form["c"] == "<script>" && form["d"] == "")
        #expect(form["e"] == "%zz", "a malformed escape stays as typed")
        #expect(form.all("a") == ["1", "2"])
        #expect(form["missing"] == "")
        let request = HTTPRequest(
            method: "GET", target: "/", headers: [.init(name: "Cookie", value: "x=1; legate_console=abc ; y=2")])
        #expect(request.cookie("legate_console") == "abc")
        #expect(request.cookie("z") == nil)
    }

    @Test func timesParseAndPrintInUTC() throws {
        #expect(try ConsoleAuditPages.parseTime("2026-01-01 00:00") == 1_767_225_600_000)
        #expect(try ConsoleAuditPages.parseTime("2024-02-29T13:45:10") == 1_709_214_310_000)
        #expect(try ConsoleAuditPages.parseTime("1767225600000") == 1_767_225_600_000)
        #expect(try ConsoleAuditPages.parseTime(" ") == nil)
        #expect(throws: AdminError.self) { try ConsoleAuditPages.parseTime("2026-13-01") }
        #expect(throws: AdminError.self) { try ConsoleAuditPages.parseTime("yesterday") }
        #expect(ConsoleTime.absolute(1_709_214_310_000) == "2024-02-29 13:45:10 UTC")
        #expect(ConsoleTime.absolute(0) == "-")
        #expect(ConsoleTime.relative(Self.now - 12_000, now: Self.now) == "12 s ago")
        #expect(ConsoleTime.relative(Self.now - 7_200_000, now: Self.now) == "2 h ago")
        #expect(ConsoleTime.relative(Self.now + 120_000, now: Self.now) == "in 2 min")
    }

    @Test func autoApprovalRulesRoundTrip() throws {
        let rules = try ConsoleProfilePages.parseRules("cidr=10.0.0.0/8, fd00::/8&host=ci-*\r\n\ntoken=tok_1")
        #expect(rules.count == 2)
        #expect(rules[0].sourceCidrs == ["10.0.0.0/8", "fd00::/8"] && rules[0].hostnamePattern == "ci-*")
        #expect(rules[1].tokenID == "tok_1")
        #expect(ConsoleProfilePages.ruleText(rules) == "cidr=10.0.0.0/8,fd00::/8&host=ci-*\ntoken=tok_1")
        #expect(throws: AdminError.self) { try ConsoleProfilePages.parseRules("color=blue") }
    }
}
