// The console's one stylesheet and one script, served by the manager from these constants (no build step). The
// Content-Security-Policy allows nothing inline, so every behaviour lives in the script and every look here.

/// The static files of the console.
enum ConsoleAssets {
    /// Path of the stylesheet.
    static let stylesheetPath = "/console/static/console.css"
    /// Path of the script.
    static let scriptPath = "/console/static/console.js"

    /// The stylesheet: readable on a laptop screen, visible keyboard focus.
    static let stylesheet = """
        :root { --fg: #1c2430; --muted: #5b6675; --line: #d5dae1; --bg: #f6f7f9; --accent: #1f5fbf;
          --danger: #b3261e; --ok: #1b7f3b; --warn: #8a5a00; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
          background: var(--bg); }
        header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #fff;
          border-bottom: 1px solid var(--line); flex-wrap: wrap; }
        header .brand { font-weight: 700; font-size: 1.1rem; }
        nav ul { display: flex; gap: .25rem; list-style: none; margin: 0; padding: 0; flex-wrap: wrap; }
        nav a { display: block; padding: .35rem .7rem; border-radius: 6px; color: var(--fg); text-decoration: none; }
        nav a[aria-current="page"] { background: #e3ebf7; color: var(--accent); font-weight: 600; }
        header .who { margin-left: auto; color: var(--muted); font-size: .9rem; display: flex; gap: .75rem;
          align-items: center; }
        main { padding: 1.25rem 1.5rem 3rem; max-width: 1400px; }
        h1 { font-size: 1.45rem; margin: 0 0 1rem; }
        h2 { font-size: 1.15rem; margin: 1.5rem 0 .6rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f5; font-size: .85rem; text-transform: uppercase; letter-spacing: .02em;
          color: var(--muted); }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        #tokens td:first-child, #tasks td:first-child, #audit td:first-child { white-space: nowrap; }
        code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88rem; }
        td.device-key { max-width: 14ch; overflow-wrap: anywhere; font-size: .8rem; }
        pre { background: #10161f; color: #e6edf3; padding: .75rem; border-radius: 6px; overflow: auto;
          max-height: 28rem; white-space: pre-wrap; word-break: break-word; }
        form.inline { display: inline-flex; gap: .3rem; align-items: center; margin: 0 .2rem .2rem 0; }
        form[method="get"] { margin: 0 0 1rem; }
        table input { width: 8rem; }
        table input[name="overlap"] { width: 4.5rem; }
        fieldset { border: 1px solid var(--line); border-radius: 8px; background: #fff; padding: .8rem 1rem;
          margin: 0 0 1rem; }
        legend { font-weight: 600; padding: 0 .3rem; }
        .fields { display: flex; gap: .8rem; flex-wrap: wrap; align-items: flex-end; }
        label { display: flex; flex-direction: column; gap: .2rem; font-size: .9rem; }
        label.check { flex-direction: row; align-items: center; gap: .4rem; }
        input, select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #aab3bf; border-radius: 6px;
          background: #fff; color: var(--fg); }
        textarea { min-width: 28rem; min-height: 5rem; }
        button { font: inherit; padding: .35rem .8rem; border-radius: 6px; border: 1px solid var(--accent);
          background: var(--accent); color: #fff; cursor: pointer; }
        button.secondary { background: #fff; color: var(--accent); }
        button.danger { background: var(--danger); border-color: var(--danger); }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
          outline: 3px solid #f2b705; outline-offset: 2px; }
        .flash { padding: .7rem 1rem; border-radius: 8px; margin: 0 0 1rem; border: 1px solid; background: #fff; }
        .flash.ok { border-color: var(--ok); color: var(--ok); }
        .flash.error { border-color: var(--danger); color: var(--danger); }
        .secret { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
        .secret code { background: #fff8e1; border: 1px solid #e0c36b; padding: .3rem .5rem; border-radius: 6px;
          word-break: break-all; }
        .badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem;
          border: 1px solid var(--line); background: #fff; }
        .badge.active, .badge.succeeded, .badge.ok { color: var(--ok); border-color: var(--ok); }
        .badge.pending, .badge.queued, .badge.running, .badge.assigned, .badge.acknowledged { color: var(--warn);
          border-color: var(--warn); }
        .badge.revoked, .badge.rejected, .badge.failed, .badge.expired, .badge.destroyed, .badge.cancelled,
        .badge.timed_out { color: var(--danger); border-color: var(--danger); }
        .muted { color: var(--muted); }
        .empty { padding: 1rem; background: #fff; border: 1px dashed var(--line); color: var(--muted); }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff;
          border: 1px solid var(--line); padding: .8rem 1rem; border-radius: 8px; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; }
        .signin { max-width: 30rem; margin: 4rem auto; }
        .signin input { width: 100%; }
        """

    /// The script: copy buttons, and following a running task by polling its live view.
    static let script = """
        "use strict";
        (function () {
          function copyFrom(button) {
            var target = document.getElementById(button.getAttribute("data-copy-target"));
            if (!target) { return; }
            var text = target.textContent;
            var done = function () { button.textContent = "Copied"; };
            if (navigator.clipboard && window.isSecureContext) {
              navigator.clipboard.writeText(text).then(done, function () { selectText(target); });
            } else {
              selectText(target);
            }
          }
          function selectText(element) {
            var range = document.createRange();
            range.selectNodeContents(element);
            var selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
          }
          document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
            button.hidden = false;
            button.addEventListener("click", function () { copyFrom(button); });
          });

          var live = document.getElementById("task-live");
          if (!live) { return; }
          var url = live.getAttribute("data-poll-url");
          var polls = 0;
          function set(id, text) {
            var element = document.getElementById(id);
            if (element && element.textContent !== text) { element.textContent = text; }
          }
          function poll() {
            polls += 1;
            fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
              .then(function (response) { return response.ok ? response.json() : null; })
              .then(function (task) {
                if (!task) { return; }
                set("task-state", task.state);
                var badge = document.getElementById("task-state");
                if (badge) { badge.className = "badge " + task.state; }
                set("task-attempt", String(task.attempt));
                set("task-delegate", task.delegate || "-");
                set("task-progress", task.progress + " %");
                set("task-output", task.output);
                set("task-error", task.error || "-");
                set("task-logs", task.logs);
                live.setAttribute("data-final", task.final ? "true" : "false");
                if (!task.final && polls < 3600) { window.setTimeout(poll, 1000); }
              })
              .catch(function () { if (polls < 3600) { window.setTimeout(poll, 2000); } });
          }
          if (live.getAttribute("data-final") !== "true") { window.setTimeout(poll, 1000); }
        })();
        """
}
