import LegateCore
import LegateWire

/// What the Tasks list shows.
struct ConsoleTasksPage: Sendable {
    /// The tasks after the filters.
    var tasks: [TaskInfo]
    /// The state filter ("" for any).
    var state: String
    /// The type filter ("" for any).
    var type: String
    /// The delegate filter ("" for any).
    var delegateID: String
    /// True when more tasks exist beyond the page read.
    var more: Bool
}

/// Renders the Tasks list, one task's page and its live view for the script. Pure.
enum ConsoleTaskPages {
    /// State names as the console shows and filters them, in lifecycle order.
    static let stateNames: [(TaskState, String)] = [
        (.queued, "queued"), (.assigned, "assigned"), (.acknowledged, "acknowledged"), (.running, "running"),
        (.succeeded, "succeeded"), (.failed, "failed"), (.timedOut, "timed_out"), (.cancelled, "cancelled"),
    ]

    /// The console name of a state.
    static func name(_ state: TaskState) -> String {
        Self.stateNames.first { $0.0 == state }?.1 ?? "unknown"
    }

    /// The state a filter name means; nil for "" or an unknown name.
    static func state(named name: String) -> TaskState? {
        Self.stateNames.first { $0.1 == name }?.0
    }

    /// Whether the task will change no more.
    static func isFinal(_ state: TaskState) -> Bool {
        [.succeeded, .failed, .timedOut, .cancelled].contains(state)
    }

    /// The list page.
    static func render(_ page: ConsoleTasksPage, viewer: ConsoleViewer, now: Int64, flash: ConsoleFlash?) -> String {
        let states = [("", "every state")] + Self.stateNames.map { ($0.1, $0.1) }
        let stateSelect = ConsoleLayout.select(name: "state", id: "filter-state", options: states, selected: page.state)
        var body = """
            <form method="get" action="/console/tasks" id="task-filter"><div class="fields">
            <label for="filter-state">State\(stateSelect)</label>
            <label for="filter-type">Type<input id="filter-type" name="type" value="\(HTML.escape(page.type))"></label>
            <label for="filter-delegate">Delegate id<input id="filter-delegate" name="delegate" \
            value="\(HTML.escape(page.delegateID))"></label>
            <button type="submit" class="secondary">Filter</button></div></form>
            """
        if viewer.allows(.taskSubmit) { body += Self.submitForm(viewer) }
        body += Self.table(page.tasks, viewer: viewer, now: now)
        if page.more { body += "<p class=\"muted\">Only the newest tasks are listed; narrow the filters.</p>" }
        return ConsoleLayout.page(title: "Tasks", current: .tasks, viewer: viewer, flash: flash, body: body)
    }

    private static func submitForm(_ viewer: ConsoleViewer) -> String {
        let types = [("echo", "echo"), ("shell", "shell")]
        let typeSelect = ConsoleLayout.select(name: "type", id: "task-type", options: types, selected: "echo")
        return """
            <form method="post" action="/console/tasks/submit" id="submit-task"><fieldset><legend>Submit a task</legend>
            \(ConsoleLayout.csrfField(viewer))<div class="fields">
            <label for="task-type">Type\(typeSelect)</label>
            <label for="task-payload">Payload (echo: any text; shell: \
            {"command": "/bin/sh", "arguments": ["-c", "..."]})\
            <textarea id="task-payload" name="payload"></textarea></label></div><div class="fields">
            <label for="task-selectors">Selector tags (comma separated)\
            <input id="task-selectors" name="selectors"></label>
            <label for="task-target">Only on delegate (id)<input id="task-target" name="target"></label>
            <label for="task-timeout">Timeout (seconds, empty: default)<input id="task-timeout" name="timeout" \
            inputmode="numeric" pattern="[0-9]*"></label>
            <button type="submit" id="submit-task-button">Submit</button></div></fieldset></form>
            """
    }

    private static func table(_ tasks: [TaskInfo], viewer: ConsoleViewer, now: Int64) -> String {
        guard !tasks.isEmpty else { return "<p class=\"empty\">No tasks match.</p>" }
        var html = """
            <table id="tasks"><thead><tr><th scope="col">Task</th><th scope="col">Type</th><th scope="col">State</th>\
            <th scope="col">Attempt</th><th scope="col">Delegate</th><th scope="col">Waiting because</th>\
            <th scope="col">Created</th><th scope="col">Finished</th><th scope="col">Actions</th></tr></thead><tbody>
            """
        for task in tasks {
            let id = HTML.escape(task.id)
            let link = "/console/task?id=\(HTML.queryValue(task.id))"
            html += "<tr data-task-id=\"\(id)\"><td><a class=\"mono\" href=\"\(link)\">"
            html +=
                "\(id)</a></td><td>\(HTML.escape(task.type))</td><td>\(ConsoleLayout.badge(Self.name(task.state)))</td>"
            html += "<td class=\"num\">\(task.attempt)</td><td class=\"mono\">\(HTML.escape(task.delegateID))</td>"
            html +=
                "<td>\(HTML.escape(task.waitingReason))</td><td>\(ConsoleLayout.time(task.createdAtMs, now: now))</td>"
            html += "<td>\(ConsoleLayout.time(task.finishedAtMs, now: now))</td><td>"
            if !Self.isFinal(task.state), viewer.allows(.taskSubmit) {
                html += ConsoleLayout.button(
                    "Cancel", action: "/console/tasks/cancel", fields: [("id", task.id)], viewer: viewer,
                    style: "danger")
            }
            html += "</td></tr>"
        }
        return html + "</tbody></table>"
    }

    /// One task: its facts, output, logs by attempt, Cancel; the script follows it while it is not final.
    static func renderTask(
        _ task: TaskInfo, logs: TaskLogsResponse, viewer: ConsoleViewer, now: Int64, flash: ConsoleFlash?
    ) -> String {
        let final = Self.isFinal(task.state)
        let state = Self.name(task.state)
        var body = """
            <div id="task-live" data-poll-url="/console/task/live?id=\(HTML.queryValue(task.id))" \
            data-final="\(final ? "true" : "false")">
            <dl class="facts"><dt>ID</dt><dd class="mono">\(HTML.escape(task.id))</dd>
            <dt>Type</dt><dd>\(HTML.escape(task.type))</dd>
            <dt>State</dt><dd><span id="task-state" class="badge \(state)">\(state)</span></dd>
            <dt>Attempt</dt><dd id="task-attempt">\(task.attempt)</dd>
            <dt>Delegate</dt><dd id="task-delegate" class="mono">\
            \(task.delegateID.isEmpty ? "-" : HTML.escape(task.delegateID))</dd>
            <dt>Progress</dt><dd id="task-progress">\(task.progressPercent) %</dd>
            <dt>Selectors</dt><dd>\(HTML.escape(task.selectors.joined(separator: ", ")))</dd>
            <dt>Created</dt><dd>\(ConsoleLayout.time(task.createdAtMs, now: now))</dd>
            <dt>Finished</dt><dd>\(ConsoleLayout.time(task.finishedAtMs, now: now))</dd>
            <dt>Error</dt><dd id="task-error">\(task.error.isEmpty ? "-" : HTML.escape(task.error))</dd>
            <dt>Exit code</dt><dd>\(task.exitCode)</dd></dl>
            """
        if !final, viewer.allows(.taskSubmit) {
            let reason = "<input name=\"reason\" placeholder=\"reason\" aria-label=\"Reason for cancelling\">"
            body +=
                "<p>"
                + ConsoleLayout.button(
                    "Cancel task", action: "/console/tasks/cancel", fields: [("id", task.id)], viewer: viewer,
                    style: "danger", extra: reason) + "</p>"
        }
        body += "<h2>Payload</h2><pre>\(HTML.escape(bytes: task.payload))</pre>"
        body += "<h2>Output</h2><pre id=\"task-output\">\(HTML.escape(bytes: task.output))</pre>"
        body += "<h2>Logs by attempt</h2><pre id=\"task-logs\">\(HTML.escape(Self.logText(logs)))</pre></div>"
        return ConsoleLayout.page(title: "Task", current: .tasks, viewer: viewer, flash: flash, body: body)
    }

    /// Logs as text, a header line before each attempt's chunks.
    static func logText(_ logs: TaskLogsResponse) -> String {
        var text = ""
        var attempt: UInt32 = 0
        for chunk in logs.chunks {
            if chunk.attempt != attempt {
                attempt = chunk.attempt
                text += "--- attempt \(attempt) ---\n"
            }
            text += String(decoding: chunk.data, as: UTF8.self)
        }
        if logs.truncated { text += "\n[earlier log chunks were dropped by the manager's bound]\n" }
        return text
    }

    /// The live view the script polls: JSON it writes into the page as text only.
    static func liveJSON(_ task: TaskInfo, logs: TaskLogsResponse) -> String {
        let fields: [(String, String)] = [
            ("id", JSONText.string(task.id)), ("state", JSONText.string(Self.name(task.state))),
            ("final", Self.isFinal(task.state) ? "true" : "false"), ("attempt", "\(task.attempt)"),
            ("delegate", JSONText.string(task.delegateID)), ("progress", "\(task.progressPercent)"),
            ("output", JSONText.string(String(decoding: task.output, as: UTF8.self))),
            ("error", JSONText.string(task.error)), ("logs", JSONText.string(Self.logText(logs))),
        ]
        return "{" + fields.map { "\(JSONText.string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}

/// JSON string literals. Pure.
enum JSONText {
    /// `text` as a JSON string literal; `<`, `>` and `&` escaped too, so it is inert wherever it lands.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += Self.unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += Self.unicodeEscape(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
