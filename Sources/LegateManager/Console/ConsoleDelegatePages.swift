import LegateCore
import LegateWire

/// What the Delegates page shows.
struct ConsoleDelegatesPage: Sendable {
    /// The delegates the key may see, already filtered.
    var delegates: [DelegateInfo]
    /// The state filter ("" for every state).
    var state: String
    /// The token filter ("" for every token).
    var tokenID: String
    /// Profile names (bulk decisions by profile).
    var profiles: [String]
    /// Token ids and names (the token column and bulk decisions by token).
    var tokens: [(id: String, name: String)]
}

/// Renders the Delegates page. Pure.
enum ConsoleDelegatePages {
    /// The states the filter offers.
    static let states = ["pending", "active", "disconnected", "rejected", "destroyed"]

    /// The whole page for `viewer` at `now`.
    static func render(_ page: ConsoleDelegatesPage, viewer: ConsoleViewer, now: Int64, flash: ConsoleFlash?)
        -> String
    {
        var body = Self.filter(page)
        if viewer.allows(.delegateApprove) { body += Self.bulkForm(page, viewer: viewer) }
        body += Self.table(page, viewer: viewer, now: now)
        return ConsoleLayout.page(title: "Delegates", current: .delegates, viewer: viewer, flash: flash, body: body)
    }

    private static func filter(_ page: ConsoleDelegatesPage) -> String {
        let options = [("", "every state")] + Self.states.map { ($0, $0) }
        let tokenOptions = [("", "every token")] + page.tokens.map { ($0.id, $0.name) }
        let stateSelect = ConsoleLayout.select(
            name: "state", id: "filter-state", options: options, selected: page.state)
        let tokenSelect = ConsoleLayout.select(
            name: "token", id: "filter-token", options: tokenOptions, selected: page.tokenID)
        return """
            <form method="get" action="/console/delegates" id="delegate-filter"><div class="fields">
            <label for="filter-state">State\(stateSelect)</label>
            <label for="filter-token">Token\(tokenSelect)</label>
            <button type="submit" class="secondary">Filter</button></div></form>
            """
    }

    private static func bulkForm(_ page: ConsoleDelegatesPage, viewer: ConsoleViewer) -> String {
        let profiles = [("", "-")] + page.profiles.map { ($0, $0) }
        let tokens = [("", "-")] + page.tokens.map { ($0.id, $0.name) }
        let profileSelect = ConsoleLayout.select(name: "profile", id: "bulk-profile", options: profiles, selected: "")
        let tokenSelect = ConsoleLayout.select(name: "token", id: "bulk-token", options: tokens, selected: "")
        return """
            <form method="post" action="/console/delegates/decide" id="bulk-decision"><fieldset>
            <legend>Decide every pending delegate of a profile or a token</legend>\(ConsoleLayout.csrfField(viewer))
            <div class="fields">
            <label for="bulk-profile">Profile\(profileSelect)</label>
            <label for="bulk-token">or token\(tokenSelect)</label>
            <label for="bulk-reason">Reason (told to rejected delegates)\
            <input id="bulk-reason" name="reason" maxlength="1024"></label>
            <button type="submit" name="decision" value="approve">Approve all</button>
            <button type="submit" name="decision" value="reject" class="danger">Reject all</button></div>
            </fieldset></form>
            """
    }

    private static func table(_ page: ConsoleDelegatesPage, viewer: ConsoleViewer, now: Int64) -> String {
        guard !page.delegates.isEmpty else { return "<p class=\"empty\">No delegates match.</p>" }
        let names = Dictionary(page.tokens.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        var html = """
            <table id="delegates"><thead><tr><th scope="col">Name</th><th scope="col">State</th>\
            <th scope="col">Last heartbeat</th><th scope="col">Host</th><th scope="col">IP</th>\
            <th scope="col">Version</th><th scope="col">Token</th><th scope="col">Profile</th><th scope="col">Tags</th>\
            <th scope="col">Running / capacity</th><th scope="col">Device key</th><th scope="col">Actions</th></tr>\
            </thead><tbody>
            """
        for delegate in page.delegates {
            let connection = delegate.connected ? "connected" : "not connected"
            let token = names[delegate.tokenID].map { "\(HTML.escape($0)) " } ?? ""
            html +=
                "<tr data-delegate-id=\"\(HTML.escape(delegate.id))\" data-state=\"\(HTML.escape(delegate.status))\">"
            html += "<td><span class=\"delegate-name\">\(HTML.escape(delegate.name))</span><br>"
            html += "<span class=\"muted mono\">\(HTML.escape(delegate.id))</span></td>"
            html += "<td>\(ConsoleLayout.badge(delegate.status))<br><span class=\"muted\">\(connection)</span>"
            if !delegate.decisionReason.isEmpty {
                html += "<br><span class=\"muted decision-reason\">\(HTML.escape(delegate.decisionReason))</span>"
            }
            html += "</td><td>\(ConsoleLayout.time(delegate.lastHeartbeatAtMs, now: now))</td>"
            html +=
                "<td>\(HTML.escape(delegate.hostname))</td><td class=\"mono\">\(HTML.escape(delegate.ipAddress))</td>"
            html += "<td>\(HTML.escape(delegate.version))</td>"
            html += "<td>\(token)<span class=\"muted mono\">\(HTML.escape(delegate.tokenID))</span></td>"
            html += "<td>\(HTML.escape(delegate.profile))</td>"
            html += "<td>\(HTML.escape(delegate.tags.joined(separator: ", ")))</td>"
            html += "<td class=\"num\">\(delegate.runningTasks) / \(delegate.capacity)</td>"
            let fingerprint = delegate.deviceKeyFingerprint.isEmpty ? "-" : HTML.escape(delegate.deviceKeyFingerprint)
            html += "<td class=\"mono device-key\">\(fingerprint)</td>"
            html += "<td>\(Self.actions(delegate, viewer: viewer))</td></tr>"
        }
        return html + "</tbody></table>"
    }

    private static func actions(_ delegate: DelegateInfo, viewer: ConsoleViewer) -> String {
        var html = ""
        let fields = [("id", delegate.id)]
        if delegate.status == "pending", viewer.allows(.delegateApprove) {
            html += ConsoleLayout.button(
                "Approve", action: "/console/delegates/decide", fields: fields + [("decision", "approve")],
                viewer: viewer)
            let reason =
                "<input name=\"reason\" placeholder=\"reason\" maxlength=\"1024\" "
                + "aria-label=\"Reason for rejecting \(HTML.escape(delegate.name))\">"
            html += ConsoleLayout.button(
                "Reject", action: "/console/delegates/decide", fields: fields + [("decision", "reject")],
                viewer: viewer, style: "danger", extra: reason)
        }
        if viewer.allows(.delegateDelete) {
            html += ConsoleLayout.button(
                "Delete", action: "/console/delegates/delete", fields: fields, viewer: viewer, style: "secondary")
        }
        return html.isEmpty ? "<span class=\"muted\">-</span>" : html
    }
}
