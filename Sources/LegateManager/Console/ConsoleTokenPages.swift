import LegateCore
import LegateWire

/// What the Tokens page shows: the list, and at most one panel about the last action.
struct ConsoleTokensPage: Sendable {
    /// A token value to show once (after New Token, Copy token or Rotate).
    struct Secret: Sendable, Equatable {
        /// What happened ("New token value").
        var heading: String
        /// The token's name.
        var tokenName: String
        /// The value itself.
        var value: String
    }

    /// The tokens the key may see.
    var tokens: [TokenInfo]
    /// A value shown once.
    var secret: Secret?
    /// A dry run waiting for confirmation: the token and what revoking it would reach.
    var revokePreview: (token: TokenInfo, report: TokenRevokeResponse)?
    /// A finished revoke's counts.
    var revokeResult: TokenRevokeResponse?
    /// A finished rotation's counts (its value goes in `secret`).
    var rotateResult: TokenRotateResponse?
}

/// Renders the Tokens page. Pure.
enum ConsoleTokenPages {
    /// The whole page for `viewer` at `now`.
    static func render(_ page: ConsoleTokensPage, viewer: ConsoleViewer, now: Int64, flash: ConsoleFlash?) -> String {
        var body = ""
        if let secret = page.secret { body += Self.secretPanel(secret) }
        if let result = page.rotateResult { body += Self.rotated(result) }
        if let preview = page.revokePreview { body += Self.preview(preview.token, preview.report, viewer: viewer) }
        if let result = page.revokeResult { body += Self.revoked(result) }
        if viewer.allows(.delegateEdit) { body += Self.createForm(viewer) }
        body += Self.table(page.tokens, viewer: viewer, now: now)
        return ConsoleLayout.page(title: "Tokens", current: .tokens, viewer: viewer, flash: flash, body: body)
    }

    /// The value shown once, with a Copy button the script reveals.
    static func secretPanel(_ secret: ConsoleTokensPage.Secret) -> String {
        """
        <section class="flash ok" aria-labelledby="secret-heading" id="token-secret">
        <h2 id="secret-heading">\(HTML.escape(secret.heading))</h2>
        <p>Token <strong>\(HTML.escape(secret.tokenName))</strong>. This value is shown once: store it now.</p>
        <div class="secret"><code id="token-value">\(HTML.escape(secret.value))</code>
        <button type="button" class="secondary" data-copy-target="token-value" hidden>Copy</button></div>
        </section>
        """
    }

    private static func rotated(_ result: TokenRotateResponse) -> String {
        """
        <section class="flash ok" id="rotate-result"><h2>Rotated</h2><p>Connected \(result.connected), told \
        \(result.told), switched \(result.acknowledged). The old token is revoked \
        \(HTML.escape(ConsoleTime.absolute(result.oldTokenRevokedAtMs))).</p></section>
        """
    }

    private static func preview(_ token: TokenInfo, _ report: TokenRevokeResponse, viewer: ConsoleViewer) -> String {
        let confirm = ConsoleLayout.button(
            "Revoke now", action: "/console/tokens/revoke", fields: [("id", token.id), ("confirm", "1")],
            viewer: viewer, style: "danger")
        let cancel = "<a href=\"/console/tokens\">Cancel</a>"
        let already = report.wasAlreadyRevoked ? " It is already revoked; revoking again tells them again." : ""
        return """
            <section class="flash error" id="revoke-preview" aria-labelledby="preview-heading">
            <h2 id="preview-heading">Revoke token \(HTML.escape(token.name))?</h2>
            <p><strong id="preview-connected">\(report.connected)</strong> connected delegate(s) will be told to \
            self-destruct, and no delegate can register or heartbeat with this token again.\(already)</p>
            <p>\(confirm) \(cancel)</p></section>
            """
    }

    private static func revoked(_ report: TokenRevokeResponse) -> String {
        """
        <section class="flash ok" id="revoke-result"><h2>Revoked</h2>
        <p>Connected <strong id="result-connected">\(report.connected)</strong>, told \
        <strong id="result-told">\(report.told)</strong>, acknowledged \
        <strong id="result-acknowledged">\(report.acknowledged)</strong>, not reached \
        <strong id="result-not-reached">\(report.notReached)</strong> (\(report.fanOutMs) ms).</p></section>
        """
    }

    private static func createForm(_ viewer: ConsoleViewer) -> String {
        """
        <form method="post" action="/console/tokens/create" id="new-token-form"><fieldset><legend>New Token</legend>
        \(ConsoleLayout.csrfField(viewer))<div class="fields">
        <label for="token-name">Name<input id="token-name" name="name" required maxlength="200"></label>
        <label for="token-scope">Scope<input id="token-scope" name="scope" value="\(HTML.escape(viewer.scope))" \
        placeholder="account, org/ORG or project/ORG/PROJECT"></label>
        <label for="token-expires">Expires in (seconds, empty: never)<input id="token-expires" name="expires_in" \
        inputmode="numeric" pattern="[0-9]*"></label>
        <button type="submit" id="create-token">Apply</button></div></fieldset></form>
        """
    }

    private static func table(_ tokens: [TokenInfo], viewer: ConsoleViewer, now: Int64) -> String {
        guard !tokens.isEmpty else { return "<p class=\"empty\">No tokens the key can see.</p>" }
        var html = """
            <table id="tokens"><caption class="muted">Delegate tokens</caption><thead><tr><th scope="col">Name</th>\
            <th scope="col">ID</th><th scope="col">Scope</th><th scope="col">Status</th><th scope="col">Created</th>\
            <th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Connected now</th>\
            <th scope="col">Actions</th></tr></thead><tbody>
            """
        for token in tokens {
            let id = HTML.escape(token.id)
            html += "<tr data-token-id=\"\(id)\"><td>\(HTML.escape(token.name))</td><td class=\"mono\">\(id)</td>"
            html += "<td>\(HTML.escape(token.scope))</td><td>\(ConsoleLayout.badge(token.status))</td>"
            html += "<td>\(ConsoleLayout.time(token.createdAtMs, now: now))</td>"
            html += "<td>\(token.expiresAtMs > 0 ? ConsoleLayout.time(token.expiresAtMs, now: now) : "never")</td>"
            html += "<td>\(ConsoleLayout.time(token.lastUsedAtMs, now: now))</td>"
            html +=
                "<td class=\"num\">\(token.connectedDelegates)</td><td>\(Self.actions(token, viewer: viewer))</td></tr>"
        }
        return html + "</tbody></table>"
    }

    private static func actions(_ token: TokenInfo, viewer: ConsoleViewer) -> String {
        var html = "<a href=\"/console/delegates?token=\(HTML.queryValue(token.id))\">Delegates</a> "
        let fields = [("id", token.id)]
        let active = token.status == "active"
        if active, viewer.allows(.delegateEdit) {
            html += ConsoleLayout.button(
                "Copy token", action: "/console/tokens/copy", fields: fields, viewer: viewer, style: "secondary")
        }
        if active, viewer.allows(.delegateEdit), viewer.allows(.delegateDelete) {
            let overlap =
                "<label class=\"check\">overlap s<input name=\"overlap\" size=\"5\" value=\"300\" "
                + "aria-label=\"Rotation overlap in seconds for \(HTML.escape(token.name))\"></label>"
            html += ConsoleLayout.button(
                "Rotate", action: "/console/tokens/rotate", fields: fields, viewer: viewer, style: "secondary",
                extra: overlap)
        }
        if active, viewer.allows(.delegateDelete) {
            html += ConsoleLayout.button(
                "Revoke", action: "/console/tokens/revoke", fields: fields, viewer: viewer, style: "danger")
        }
        if !active, viewer.allows(.delegateDelete) {
            html += ConsoleLayout.button(
                "Delete", action: "/console/tokens/delete", fields: fields, viewer: viewer, style: "danger")
        }
        return html
    }
}
