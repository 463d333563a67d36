// legatectl task commands: submit, get, list, cancel, logs over the admin API.
// Exit codes: 0 ok (for `submit --wait`: the task succeeded), 1 refused, not found or the task did not succeed,
// 2 usage error, 3 cannot reach the manager.
import Foundation
import LegateAdminClient
import LegateCommandLine
import LegateCore
import LegateNet
import LegateWire

let taskUsage = """
    task commands (same settings as the admin commands):
      legatectl task submit --type TYPE [--payload TEXT | --payload-file FILE] [--selectors a,b]
                [--target DELEGATE_ID] [--timeout MS] [--max-attempts N] [--idempotency-key KEY] [--wait]
                prints the task id; with --wait, waits for the result and prints it (exit 1 unless it succeeded)
      legatectl task get ID | cancel ID [--reason TEXT] | logs ID
      legatectl task list [--state queued|assigned|acknowledged|running|succeeded|failed|timed_out|cancelled]
                [--limit N]   newest first, at most N tasks (default 100), fetched page by page; outputs are cut
                (task get ID prints a whole one)
      shell tasks take a JSON payload: {"command": "/bin/ls", "arguments": ["-l"], "workingDirectory": "/tmp",
                "environment": {"K": "V"}, "timeoutMs": 5000, "maxOutputBytes": 65536}
    """

/// Runs `legatectl task <verb> ...`; never returns.
func runTaskCommand(verb: String, words: ArraySlice<String>) -> Never {
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            Array(words),
            valueFlags: settingsFlags.union([
                "--type", "--payload", "--payload-file", "--selectors", "--target", "--timeout", "--max-attempts",
                "--idempotency-key", "--reason", "--state", "--limit",
            ]),
            switchFlags: ["--json", "--wait"])
    } catch {
        usageError("\(error)")
    }
    let json = arguments.isSet("--json")
    let id = arguments.positionals.first ?? ""
    if ["get", "cancel", "logs"].contains(verb), id.isEmpty { usageError("task \(verb) needs a task id") }
    let spec = verb == "submit" ? taskSpec(arguments) : TaskSpec()
    var state = TaskState.unspecified
    if verb == "list", let name = arguments.string("--state") {
        guard let named = TaskState(name: name) else { usageError("--state \(name) is not a task state") }
        state = named
    }
    let client = connect(arguments)
    defer { client.close() }
    do throws(AdminClientError) {
        switch verb {
        case "submit":
            let task = try client.submitTask(spec)
            guard arguments.isSet("--wait") else {
                output(json, taskObject(task)) { task.id }
                break
            }
            var current = task
            while !current.state.isFinal {
                current = try client.waitForTasks(ids: [task.id], timeoutMs: 60_000).first ?? current
            }
            // A wait carries only the first bytes of a large output; the task itself has all of it.
            if current.outputTruncated { current = try client.task(id: task.id) }
            output(json, taskObject(current)) { taskText(current) }
            if current.state != .succeeded { exit(1) }
        case "get":
            let task = try client.task(id: id)
            output(json, taskObject(task)) { taskText(task) }
        case "list":
            let limit = UInt32(clamping: integer(arguments, "--limit", default: 100))
            let tasks = try client.tasks(state: state, limit: limit)
            output(json, ["tasks": tasks.map(taskObject)]) {
                table(
                    ["ID", "TYPE", "STATE", "ATTEMPT", "DELEGATE", "CREATED", "WAITING/ERROR"],
                    tasks.map {
                        [$0.id, $0.type, $0.state.name, "\($0.attempt)", $0.delegateID.isEmpty ? "-" : $0.delegateID,
                         time($0.createdAtMs), $0.error.isEmpty ? $0.waitingReason : $0.error]
                    })
            }
        case "cancel":
            let task = try client.cancelTask(id: id, reason: arguments.string("--reason") ?? "")
            output(json, taskObject(task)) {
                task.state == .cancelled ? "cancelled \(task.id)" : "cancel sent to \(task.delegateID); \(task.id) "
                    + "stops once the delegate confirms"
            }
        case "logs":
            let logs = try client.taskLogs(id: id)
            if json {
                output(true, ["chunks": logs.chunks.map { ["attempt": $0.attempt, "at_ms": $0.atMs,
                                                           "data": String(decoding: $0.data, as: UTF8.self)] },
                              "truncated": logs.truncated]) { "" }
            } else {
                for chunk in logs.chunks { OutputWriter.standardOutput.write(chunk.data) }
            }
        default:
            usageError("unknown command 'task \(verb)'\n\(taskUsage)")
        }
    } catch {
        fail(error)
    }
    exit(0)
}

private func taskSpec(_ arguments: CommandLineArguments) -> TaskSpec {
    var spec = TaskSpec()
    spec.type = required(arguments, "--type")
    if let path = arguments.string("--payload-file") {
        guard let data = FileManager.default.contents(atPath: path) else { usageError("cannot read --payload-file \(path)") }
        spec.payload = Array(data)
    } else {
        spec.payload = Array((arguments.string("--payload") ?? "").utf8)
    }
    spec.selectors = (arguments.string("--selectors") ?? "").split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespaces)
    }.filter { !$0.isEmpty }
    spec.targetDelegateID = arguments.string("--target") ?? ""
    spec.timeoutMs = UInt32(clamping: integer(arguments, "--timeout", default: 0))
    spec.maxAttempts = UInt32(clamping: integer(arguments, "--max-attempts", default: 0))
    spec.idempotencyKey = arguments.string("--idempotency-key") ?? ""
    return spec
}

private func taskObject(_ task: TaskInfo) -> [String: Any] {
    [
        "id": task.id, "type": task.type, "state": task.state.name, "attempt": task.attempt,
        "delegate_id": task.delegateID, "waiting_reason": task.waitingReason, "created_at_ms": task.createdAtMs,
        "updated_at_ms": task.updatedAtMs, "finished_at_ms": task.finishedAtMs,
        "output": String(decoding: task.output, as: UTF8.self), "output_bytes": task.outputBytes,
        "output_truncated": task.outputTruncated, "error": task.error, "exit_code": task.exitCode,
        "progress_percent": task.progressPercent, "selectors": task.selectors,
        "target_delegate_id": task.targetDelegateID, "idempotency_key": task.idempotencyKey,
        "max_attempts": task.maxAttempts, "timeout_ms": task.timeoutMs,
    ]
}

private func taskText(_ task: TaskInfo) -> String {
    var lines = [
        "task \(task.id) (\(task.type)): \(task.state.name), attempt \(task.attempt)"
            + (task.delegateID.isEmpty ? "" : " on \(task.delegateID)"),
    ]
    if !task.waitingReason.isEmpty { lines.append("waiting: \(task.waitingReason)") }
    if task.state == .succeeded || task.state == .failed { lines.append("exit code: \(task.exitCode)") }
    if !task.error.isEmpty { lines.append("error: \(task.error)") }
    if !task.output.isEmpty { lines.append("output:\n" + String(decoding: task.output, as: UTF8.self)) }
    return lines.joined(separator: "\n")
}
