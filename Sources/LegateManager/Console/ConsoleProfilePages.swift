import LegateCore
import LegateWire

/// Renders the Profiles page and reads its rule text. Pure.
enum ConsoleProfilePages {
    /// The whole page: the list, and the form (empty to create, or filled with `editing` to change it).
    static func render(
        _ profiles: [ProfileInfo], editing: ProfileInfo?, viewer: ConsoleViewer, now: Int64, flash: ConsoleFlash?
    ) -> String {
        var body = ""
        if viewer.allows(.delegateEdit) { body += Self.form(editing, viewer: viewer) }
        body += Self.table(profiles, viewer: viewer, now: now)
        return ConsoleLayout.page(title: "Profiles", current: .profiles, viewer: viewer, flash: flash, body: body)
    }

    /// One rule per line, `cidr=10.0.0.0/8,fd00::/8&host=ci-*&token=ID` (the legatectl syntax, `;` also splits).
    static func ruleText(_ rules: [AutoApprovalRule]) -> String {
        rules.map { rule in
            var parts: [String] = []
            if !rule.sourceCidrs.isEmpty { parts.append("cidr=" + rule.sourceCidrs.joined(separator: ",")) }
            if !rule.hostnamePattern.isEmpty { parts.append("host=" + rule.hostnamePattern) }
            if !rule.tokenID.isEmpty { parts.append("token=" + rule.tokenID) }
            return parts.joined(separator: "&")
        }.joined(separator: "\n")
    }

    /// Parses rule text (see `ruleText`); the manager still validates CIDRs and patterns when saving.
    static func parseRules(_ text: String) throws(AdminError) -> [AutoApprovalRule] {
        var rules: [AutoApprovalRule] = []
        for line in text.split(whereSeparator: { $0.isNewline || $0 == ";" }) {
            guard !line.trimmingSpaces.isEmpty else { continue }
            var rule = AutoApprovalRule()
            for condition in line.split(separator: "&") {
                let parts = condition.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
                guard parts.count == 2, !parts[1].isEmpty else {
                    throw .invalidArgument(
                        "auto-approval condition '\(condition)' is not key=value (cidr, host, token)")
                }
                switch parts[0] {
                case "cidr": rule.sourceCidrs = parts[1].split(separator: ",").map { $0.trimmingSpaces }
                case "host": rule.hostnamePattern = parts[1]
                case "token": rule.tokenID = parts[1]
                default:
                    throw .invalidArgument("unknown auto-approval condition \(parts[0]); use cidr, host or token")
                }
            }
            rules.append(rule)
        }
        return rules
    }

    private static func form(_ editing: ProfileInfo?, viewer: ConsoleViewer) -> String {
        let name = editing.map { HTML.escape($0.name) } ?? ""
        let nameField =
            editing == nil
            ? "<input id=\"profile-name\" name=\"name\" required maxlength=\"200\">"
            : "<input id=\"profile-name\" name=\"name\" value=\"\(name)\" readonly>"
        let approval = editing?.requiresApproval == true ? " checked" : ""
        return """
            <form method="post" action="/console/profiles/save" id="profile-form"><fieldset>
            <legend>\(editing == nil ? "New profile" : "Edit profile \(name)")</legend>\
            \(ConsoleLayout.csrfField(viewer))
            <input type="hidden" name="update" value="\(editing == nil ? "0" : "1")"><div class="fields">
            <label for="profile-name">Name\(nameField)</label>
            <label class="check" for="profile-approval"><input type="checkbox" id="profile-approval" \
            name="requires_approval" value="1"\(approval)>Requires approval</label></div><div class="fields">
            <label for="profile-rules">Auto-approval rules (one per line: cidr=10.0.0.0/8&amp;host=ci-*&amp;token=ID)\
            <textarea id="profile-rules" name="rules">\
            \(HTML.escape(Self.ruleText(editing?.autoApproval ?? [])))</textarea></label>
            <label for="profile-script">Startup script (run by /bin/sh once approved)\
            <textarea id="profile-script" name="startup_script">\
            \(HTML.escape(editing?.startupScript ?? ""))</textarea></label>
            </div><p><button type="submit" id="save-profile">\(editing == nil ? "Create" : "Save")</button>\
            \(editing == nil ? "" : " <a href=\"/console/profiles\">Cancel</a>")</p></fieldset></form>
            """
    }

    private static func table(_ profiles: [ProfileInfo], viewer: ConsoleViewer, now: Int64) -> String {
        guard !profiles.isEmpty else { return "<p class=\"empty\">No profiles.</p>" }
        var html = """
            <table id="profiles"><thead><tr><th scope="col">Name</th><th scope="col">Requires approval</th>\
            <th scope="col">Auto-approval rules</th><th scope="col">Startup script</th><th scope="col">Delegates</th>\
            <th scope="col">Updated</th><th scope="col">Actions</th></tr></thead><tbody>
            """
        for profile in profiles {
            let rules = Self.ruleText(profile.autoApproval)
            html += "<tr data-profile=\"\(HTML.escape(profile.name))\"><td>\(HTML.escape(profile.name))</td>"
            html += "<td>\(profile.requiresApproval ? "yes" : "no")</td>"
            html += "<td class=\"mono\">\(rules.isEmpty ? "-" : HTML.escape(rules))</td>"
            html +=
                "<td>\(profile.startupScript.isEmpty ? "-" : "<pre>\(HTML.escape(profile.startupScript))</pre>")</td>"
            html += "<td class=\"num\">\(profile.delegates)</td>"
            html += "<td>\(ConsoleLayout.time(profile.updatedAtMs, now: now))</td><td>"
            if viewer.allows(.delegateEdit) {
                html += "<a href=\"/console/profiles?edit=\(HTML.queryValue(profile.name))\">Edit</a> "
            }
            if viewer.allows(.delegateDelete), profile.delegates == 0, profile.name != "default" {
                html += ConsoleLayout.button(
                    "Delete", action: "/console/profiles/delete", fields: [("name", profile.name)], viewer: viewer,
                    style: "danger")
            }
            html += "</td></tr>"
        }
        return html + "</tbody></table>"
    }
}
