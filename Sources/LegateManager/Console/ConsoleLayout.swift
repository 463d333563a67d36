import LegateCore
import LegateHTTP

/// Who is looking at a page: what the renderers need to decide which buttons to draw. Pure value.
struct ConsoleViewer: Sendable, Equatable {
    /// The signed-in key's id.
    let keyID: String
    /// The key's permissions (`account:admin` holds them all).
    let permissions: Set<AdminPermission>
    /// The key's scope, as text.
    let scope: String
    /// The CSRF token every form carries.
    let csrfToken: String

    /// The viewer of a console session.
    init(session: ConsoleSession) {
        self.init(
            keyID: session.admin.keyID, permissions: session.admin.permissions,
            scope: session.admin.scope.description, csrfToken: session.csrfToken)
    }

    /// A viewer with these facts (tests).
    init(keyID: String, permissions: Set<AdminPermission>, scope: String, csrfToken: String) {
        self.keyID = keyID
        self.permissions = permissions
        self.scope = scope
        self.csrfToken = csrfToken
    }

    /// Whether the key holds `permission`; a button needing it is drawn only then.
    func allows(_ permission: AdminPermission) -> Bool {
        self.permissions.contains(permission) || self.permissions.contains(.accountAdmin)
    }
}

/// A message shown at the top of a page after an action.
struct ConsoleFlash: Sendable, Equatable {
    /// Success or refusal.
    var isError: Bool
    /// The text (escaped when drawn).
    var text: String

    /// A success message.
    static func ok(_ text: String) -> ConsoleFlash { ConsoleFlash(isError: false, text: text) }
    /// A refusal message.
    static func error(_ text: String) -> ConsoleFlash { ConsoleFlash(isError: true, text: text) }
}

/// The console's sections, in navigation order.
enum ConsoleSection: String, CaseIterable, Sendable {
    /// One section each.
    case tokens, delegates, profiles, tasks, audit

    /// The section's path.
    var path: String { "/console/\(self.rawValue)" }
    /// The navigation label.
    var title: String { self.rawValue.prefix(1).uppercased() + self.rawValue.dropFirst() }
}

/// The page chrome every console page shares, and small form helpers. Pure.
enum ConsoleLayout {
    /// Headers on every console response: nothing inline may run, nothing may frame the page, no referrer leaks.
    static let securityHeaders = [
        HTTPHeader(
            name: "Content-Security-Policy",
            value: "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        HTTPHeader(name: "X-Content-Type-Options", value: "nosniff"),
        HTTPHeader(name: "Referrer-Policy", value: "no-referrer"),
        HTTPHeader(name: "X-Frame-Options", value: "DENY"),
        HTTPHeader(name: "Cache-Control", value: "no-store"),
    ]

    /// `response` with each security header it does not already carry.
    static func withSecurityHeaders(_ response: HTTPResponse) -> HTTPResponse {
        var secured = response
        for header in Self.securityHeaders where secured.header(header.name) == nil {
            secured.headers.append(header)
        }
        return secured
    }

    /// A full HTML response with the security headers.
    static func response(_ status: HTTPStatus = .ok, html: String) -> HTTPResponse {
        var response = HTTPResponse.text(status, html, contentType: "text/html; charset=utf-8")
        response.headers += Self.securityHeaders
        return response
    }

    /// A page: head, navigation (`current` marked), who is signed in with a sign-out button, the flash, `body`.
    static func page(
        title: String, current: ConsoleSection?, viewer: ConsoleViewer?, flash: ConsoleFlash? = nil, body: String
    ) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Legate console</title>
            <link rel="stylesheet" href="\(ConsoleAssets.stylesheetPath)">
            <script src="\(ConsoleAssets.scriptPath)" defer></script>
            </head><body>
            <header><span class="brand">Legate</span>
            """
        if let viewer {
            html += "<nav aria-label=\"Sections\"><ul>"
            for section in ConsoleSection.allCases {
                let marker = section == current ? " aria-current=\"page\"" : ""
                html += "<li><a href=\"\(section.path)\"\(marker)>\(section.title)</a></li>"
            }
            html += "</ul></nav><div class=\"who\"><span>key <code>\(HTML.escape(viewer.keyID))</code> · "
            html += "scope \(HTML.escape(viewer.scope))</span>"
            html += "<form class=\"inline\" method=\"post\" action=\"/console/signout\">\(Self.csrfField(viewer))"
            html += "<button type=\"submit\" class=\"secondary\" id=\"sign-out\">Sign out</button></form></div>"
        }
        html += "</header><main>"
        if let flash {
            let kind = flash.isError ? "error" : "ok"
            let role = flash.isError ? "alert" : "status"
            html += "<div class=\"flash \(kind)\" role=\"\(role)\" id=\"flash\">\(HTML.escape(flash.text))</div>"
        }
        html += "<h1>\(HTML.escape(title))</h1>\(body)</main></body></html>\n"
        return html
    }

    /// The hidden CSRF field of a form.
    static func csrfField(_ viewer: ConsoleViewer) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(viewer.csrfToken))\">"
    }

    /// A one-button POST form carrying `fields` (escaped) and the CSRF token.
    static func button(
        _ label: String, action: String, fields: [(String, String)], viewer: ConsoleViewer, style: String = "",
        extra: String = ""
    ) -> String {
        var html = "<form class=\"inline\" method=\"post\" action=\"\(HTML.escape(action))\">\(Self.csrfField(viewer))"
        for (name, value) in fields {
            html += "<input type=\"hidden\" name=\"\(HTML.escape(name))\" value=\"\(HTML.escape(value))\">"
        }
        let styleClass = style.isEmpty ? "" : " class=\"\(style)\""
        html += "\(extra)<button type=\"submit\"\(styleClass)>\(HTML.escape(label))</button></form>"
        return html
    }

    /// A status badge.
    static func badge(_ state: String) -> String {
        let kind = state.lowercased().filter { $0.isLetter || $0 == "_" }
        return "<span class=\"badge \(kind)\">\(HTML.escape(state))</span>"
    }

    /// An absolute time with its relative form as a tooltip-free second line.
    static func time(_ unixMilliseconds: Int64, now: Int64) -> String {
        guard unixMilliseconds > 0 else { return "<span class=\"muted\">never</span>" }
        return "<time title=\"\(ConsoleTime.absolute(unixMilliseconds))\">"
            + "\(ConsoleTime.relative(unixMilliseconds, now: now))</time>"
    }

    /// A `<select>` of `options` (value, label) with `selected` chosen.
    static func select(name: String, id: String, options: [(String, String)], selected: String) -> String {
        var html = "<select name=\"\(name)\" id=\"\(id)\">"
        for (value, label) in options {
            let mark = value == selected ? " selected" : ""
            html += "<option value=\"\(HTML.escape(value))\"\(mark)>\(HTML.escape(label))</option>"
        }
        return html + "</select>"
    }
}
