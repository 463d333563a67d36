// legatectl task commands: submit, get, list, cancel, logs over the admin API.
// Exit codes: 0 ok (for `submit --wait`: the task succeeded), 1 refused, not found or the task did not succeed,
// 2 usage error, 3 cannot reach the manager.
import Foundation
import LegateAdminClient
import LegateCommandLine
import LegateCore
import LegateNet
import LegateWire

/// Runs `legatectl task <verb> ...`; never returns.
func runTaskCommand(verb: String, words: ArraySlice<String>) -> Never {
    var remaining = Array(words)
    let secretUses = verb == "submit" ? takeSecretUses(&remaining) : []
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            remaining,
            valueFlags: settingsFlags.union([
                "--type", "--payload", "--payload-file", "--selectors", "--target", "--timeout", "--max-attempts",
                "--idempotency-key", "--reason", "--state", "--limit", "--wait-timeout",
            ]),
            switchFlags: ["--json", "--wait", "--follow"])
    } catch {
        usageError("\(error)")
    }
    refuseForeignFlags(arguments, noun: "task", verb: verb)
    let json = arguments.isSet("--json")
    let id = arguments.positionals.first ?? ""
    let takesID = ["get", "cancel", "logs", "wait"].contains(verb)
    if takesID, id.isEmpty { usageError("task \(verb) needs a task id") }
    if let extra = arguments.positionals.dropFirst(takesID ? 1 : 0).first { usageError("unexpected argument \(extra)") }
    let waitTimeout: Duration?
    do {
        waitTimeout = arguments.string("--wait-timeout") == nil
            ? nil : try arguments.seconds("--wait-timeout", default: .zero)
    } catch {
        usageError("\(error)")
    }
    var spec = verb == "submit" ? taskSpec(arguments) : TaskSpec()
    spec.secrets = secretUses
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
            // A delegate's unique name works as its id, as everywhere else.
            if !spec.targetDelegateID.isEmpty { spec.targetDelegateID = try delegateID(spec.targetDelegateID, client) }
            let submitted = try client.submit(spec)
            let task = submitted.task
            for warning in submitted.warnings { OutputWriter.standardError.write("legatectl: warning: \(warning)\n") }
            guard arguments.isSet("--wait") else {
                output(json, taskObject(task)) { task.id }
                break
            }
            // The id first, so an interrupted or timed-out wait never leads to a second submission.
            if json {
                OutputWriter.standardError.write("submitted \(task.id); waiting for it to end\n")
            } else {
                OutputWriter.standardOutput.write("submitted \(task.id)\n")
            }
            waitAndPrint(id: task.id, client: client, timeout: waitTimeout, json: json)
        case "wait":
            waitAndPrint(id: id, client: client, timeout: waitTimeout, json: json)
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
            if arguments.isSet("--follow") {
                try followLogs(id: id, client: client, json: json)
                break
            }
            let logs = try client.taskLogs(id: id)
            if json {
                output(true, ["chunks": logs.chunks.map(chunkObject), "truncated": logs.truncated]) { "" }
            } else {
                for chunk in logs.chunks { OutputWriter.standardOutput.write(chunk.data) }
            }
        default:
            usageError("unknown command 'task \(verb)'")
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
        "secrets": task.secrets.map { "\($0.envName)=\($0.secretName)" },
    ]
}

private func taskText(_ task: TaskInfo) -> String {
    var lines = [
        "task \(task.id) (\(task.type)): \(task.state.name), attempt \(task.attempt)"
            + (task.delegateID.isEmpty ? "" : " on \(task.delegateID)"),
    ]
    if !task.waitingReason.isEmpty { lines.append("waiting: \(task.waitingReason)") }
    // A failure that is not the command's own exit status (it could not start, the delegate was lost) has no
    // exit code worth showing; "exit code: 0" next to "failed" would read as a success.
    if task.state == .succeeded || (task.state == .failed && task.exitCode != 0) {
        lines.append("exit code: \(task.exitCode)")
    }
    if !task.error.isEmpty { lines.append("error: \(task.error)") }
    if !task.output.isEmpty { lines.append("output:\n" + String(decoding: task.output, as: UTF8.self)) }
    return lines.joined(separator: "\n")
}

/// Waits for the task (no limit unless `timeout`), prints it and exits: 0 when it succeeded, 1 when it ended
/// otherwise or is still going when `timeout` passed (then with its state and why it waits).
private func waitAndPrint(id: String, client: AdminClient, timeout: Duration?, json: Bool) -> Never {
    do throws(AdminClientError) {
        var current = try client.waitForTask(id: id, timeout: timeout)
        // A wait carries only the first bytes of a large output; the task itself has all of it.
        if current.outputTruncated { current = try client.task(id: id) }
        if !current.state.isFinal {
            OutputWriter.standardError.write(
                "legatectl: task \(id) has not ended within --wait-timeout \(timeout.map { "\($0)" } ?? ""): "
                    + "\(current.state.name)"
                    + (current.waitingReason.isEmpty ? "" : "; waiting: \(current.waitingReason)") + "\n")
        }
        output(json, taskObject(current)) { taskText(current) }
        exit(current.state == .succeeded ? 0 : 1)
    } catch {
        fail(error)
    }
}

/// Prints the task's log chunks as they arrive until the task ends (JSON: one object per chunk and line).
private func followLogs(id: String, client: AdminClient, json: Bool) throws(AdminClientError) {
    var printed = 0
    while true {
        let state = try client.task(id: id).state
        let logs = try client.taskLogs(id: id)
        for chunk in logs.chunks.dropFirst(printed) {
            if json {
                let data = (try? JSONSerialization.data(withJSONObject: chunkObject(chunk), options: [.sortedKeys]))
                OutputWriter.standardOutput.write(String(decoding: data ?? Data(), as: UTF8.self) + "\n")
            } else {
                OutputWriter.standardOutput.write(chunk.data)
            }
        }
        printed = max(printed, logs.chunks.count)
        if state.isFinal { return }
        // The manager answers at once when the task ends; otherwise new chunks are read again after a second.
        _ = try client.waitForTasks(ids: [id], timeoutMs: 1000)
    }
}

private func chunkObject(_ chunk: TaskLogChunk) -> [String: Any] {
    ["attempt": chunk.attempt, "at_ms": chunk.atMs, "data": String(decoding: chunk.data, as: UTF8.self)]
}
