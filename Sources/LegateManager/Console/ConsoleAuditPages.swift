import LegateCore
import LegateWire

/// The Audit page's filters as typed (times as `YYYY-MM-DD HH:MM` UTC or Unix milliseconds).
struct ConsoleAuditFilter: Sendable, Equatable {
    var actor = ""
    var action = ""
    var since = ""
    var until = ""
}

/// Renders the Audit page and the sign-in page. Pure.
enum ConsoleAuditPages {
    /// The Audit page: filters, then the rows newest first.
    static func render(
        _ entries: [AuditEntry], filter: ConsoleAuditFilter, viewer: ConsoleViewer, now: Int64, flash: ConsoleFlash?
    ) -> String {
        var body = """
            <form method="get" action="/console/audit" id="audit-filter"><div class="fields">
            <label for="audit-actor">Actor (exact, e.g. admin:KEY)<input id="audit-actor" name="actor" \
            value="\(HTML.escape(filter.actor))"></label>
            <label for="audit-action">Action (token.create, or token.* by prefix)<input id="audit-action" \
            name="action" value="\(HTML.escape(filter.action))"></label>
            <label for="audit-since">From (UTC, 2026-01-31 14:00)<input id="audit-since" name="since" \
            value="\(HTML.escape(filter.since))"></label>
            <label for="audit-until">Until (UTC)<input id="audit-until" name="until" \
            value="\(HTML.escape(filter.until))"></label>
            <button type="submit" class="secondary">Filter</button></div></form>
            """
        if entries.isEmpty {
            body += "<p class=\"empty\">No audit rows match.</p>"
        } else {
            body += """
                <table id="audit"><thead><tr><th scope="col">Time</th><th scope="col">Actor</th>\
                <th scope="col">Action</th>\
                <th scope="col">Target</th><th scope="col">Outcome</th><th scope="col">Detail</th></tr></thead><tbody>
                """
            for entry in entries {
                body += "<tr><td>\(ConsoleLayout.time(entry.atMs, now: now))<br><span class=\"muted\">"
                body +=
                    "\(ConsoleTime.absolute(entry.atMs))</span></td><td class=\"mono\">\(HTML.escape(entry.actor))</td>"
                body +=
                    "<td class=\"mono\">\(HTML.escape(entry.action))</td>"
                    + "<td class=\"mono\">\(HTML.escape(entry.target))</td>"
                body += "<td>\(ConsoleLayout.badge(entry.outcome))</td><td>\(HTML.escape(entry.detail))</td></tr>"
            }
            body += "</tbody></table>"
        }
        return ConsoleLayout.page(title: "Audit", current: .audit, viewer: viewer, flash: flash, body: body)
    }

    /// A filter time: Unix milliseconds as digits, or `YYYY-MM-DD[ HH:MM[:SS]]` in UTC; nil when empty.
    static func parseTime(_ text: String) throws(AdminError) -> Int64? {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { return nil }
        if trimmed.allSatisfy(\.isNumber), let milliseconds = Int64(trimmed) { return milliseconds }
        let numbers = trimmed.split(whereSeparator: { "-: T".contains($0) }).map { Int64($0) }
        guard (3...6).contains(numbers.count), numbers.allSatisfy({ $0 != nil }) else {
            throw .invalidArgument("time \(trimmed) is not YYYY-MM-DD HH:MM (UTC) nor Unix milliseconds")
        }
        let parts = numbers.compactMap { $0 } + Array(repeating: 0, count: 6 - numbers.count)
        let (year, month, day) = (parts[0], parts[1], parts[2])
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(parts[3]),
            (0...59).contains(parts[4]), (0...59).contains(parts[5])
        else {
            throw .invalidArgument("time \(trimmed) is out of range; use YYYY-MM-DD HH:MM (UTC)")
        }
        // Days since 1970-01-01 from a civil date (proleptic Gregorian).
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 86_400) + parts[3] * 3600 + parts[4] * 60 + parts[5]) * 1000
    }

    /// The sign-in page; `error` says why the last attempt failed.
    static func signIn(error: String?) -> String {
        let flash = error.map { ConsoleFlash.error($0) }
        let body = """
            <div class="signin"><form method="post" action="/console/signin" id="signin-form"><fieldset>
            <legend>Sign in with an admin API key</legend>
            <label for="api-key">Admin API key (lak_...)<input id="api-key" name="key" type="password" \
            autocomplete="off" required autofocus></label>
            <p><button type="submit" id="sign-in">Sign in</button></p>
            <p class="muted">The session ends after 30 minutes without use, 12 hours after sign-in, at sign-out, or \
            when the key is revoked or expires.</p></fieldset></form></div>
            """
        return ConsoleLayout.page(title: "Sign in", current: nil, viewer: nil, flash: flash, body: body)
    }
}
