// legatectl admin commands: token, delegate and audit calls over the admin API.
// Exit codes: 0 ok, 1 refused or not found, 2 usage error, 3 cannot reach the manager.
import Foundation
import LegateAdminClient
import LegateCommandLine
import LegateCore
import LegateNet
import LegateWire

/// The loop admin connections run on (kept for the process's lifetime).
let adminGroup = EventLoopGroup(loopCount: 1)

let settingsFlags: Set<String> = ["--manager", "--admin-key", "--ca-file", "--server-name"]

/// Runs `legatectl <noun> <verb> ...`; never returns.
func runAdminCommand(noun: String, verb: String, words: ArraySlice<String>) -> Never {
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            Array(words),
            valueFlags: settingsFlags.union([
                "--name", "--expires-in", "--overlap", "--token", "--limit", "--scope", "--action", "--actor", "--since",
                "--until", "--disconnected-for",
            ]),
            switchFlags: ["--json", "--dry-run"])
    } catch {
        usageError("\(error)")
    }
    refuseForeignFlags(arguments, noun: noun, verb: verb)
    let json = arguments.isSet("--json")
    // Checked before connecting so a typo is a usage error (exit 2) naming the bad part.
    let scope = arguments.string("--scope") ?? ""
    do {
        _ = try Scope(parsing: scope)
    } catch {
        usageError("--scope: \(error)")
    }
    let takesID = ["show", "copy", "revoke", "delete", "rotate"].contains(verb)
    if takesID, arguments.positionals.isEmpty { usageError("\(noun) \(verb) needs an id or a name") }
    if let extra = arguments.positionals.dropFirst(takesID ? 1 : 0).first { usageError("unexpected argument \(extra)") }
    let expiresIn = integer(arguments, "--expires-in", default: 0)
    if arguments.string("--expires-in") != nil, expiresIn <= 0 {
        usageError("--expires-in must be a positive number of seconds; leave it out for a token that never expires")
    }
    let client = connect(arguments)
    defer { client.close() }
    var id = arguments.positionals.first ?? ""
    do throws(AdminClientError) {
        if takesID { id = try noun == "token" ? tokenID(id, client) : delegateID(id, client) }
        switch (noun, verb) {
        case ("token", "create"):
            var request = TokenCreateRequest()
            request.name = required(arguments, "--name")
            request.expiresInSeconds = expiresIn
            request.scope = scope
            let response = try client.call(.tokenCreate, request, as: TokenCreateResponse.self)
            output(json, ["token": tokenObject(response.token ?? TokenInfo()), "value": response.value]) {
                "created token \(response.token?.name ?? "") (\(response.token?.id ?? ""))"
                    + " in scope \(response.token?.scope ?? "")\n"
                    + "value (shown once; store it now):\n\(response.value)"
            }
        case ("token", "list"):
            let response = try client.call(.tokenList, TokenListRequest(), as: TokenListResponse.self)
            output(json, ["tokens": response.tokens.map(tokenObject)]) { tokenTable(response.tokens) }
        case ("token", "show"):
            var request = TokenRef()
            request.tokenID = id
            let response = try client.call(.tokenShow, request, as: TokenShowResponse.self)
            output(json, [
                "token": tokenObject(response.token ?? TokenInfo()),
                "delegates": response.delegates.map(delegateObject),
            ]) {
                tokenTable([response.token ?? TokenInfo()]) + "\n\ndelegates using it:\n"
                    + delegateTable(response.delegates)
            }
        case ("token", "copy"):
            var request = TokenRef()
            request.tokenID = id
            let response = try client.call(.tokenCopy, request, as: TokenCopyResponse.self)
            output(json, ["value": response.value]) { response.value }
        case ("token", "revoke"):
            var request = TokenRevokeRequest()
            request.tokenID = id
            request.dryRun = arguments.isSet("--dry-run")
            let response = try client.call(.tokenRevoke, request, as: TokenRevokeResponse.self)
            output(json, [
                "token_id": response.tokenID, "dry_run": response.dryRun, "connected": response.connected,
                "told": response.told, "acknowledged": response.acknowledged, "not_reached": response.notReached,
                "fan_out_ms": response.fanOutMs, "was_already_revoked": response.wasAlreadyRevoked,
            ]) {
                response.dryRun
                    ? "dry run: revoking \(id) would tell \(response.connected) connected delegate(s) to self-destruct"
                    : "revoked \(id): connected \(response.connected), told \(response.told), acknowledged "
                        + "\(response.acknowledged), not reached \(response.notReached) (\(response.fanOutMs) ms)"
            }
            if !response.dryRun, response.notReached > 0 { exit(1) }
        case ("token", "delete"):
            var request = TokenRef()
            request.tokenID = id
            _ = try client.call(.tokenDelete, request, as: TokenDeleteResponse.self)
            output(json, ["deleted": id]) { "deleted token \(id)" }
        case ("token", "rotate"):
            var request = TokenRotateRequest()
            request.tokenID = id
            request.overlapSeconds = UInt32(clamping: integer(arguments, "--overlap", default: 0))
            let response = try client.call(.tokenRotate, request, as: TokenRotateResponse.self)
            output(json, [
                "token": tokenObject(response.token ?? TokenInfo()), "value": response.value,
                "connected": response.connected, "told": response.told, "acknowledged": response.acknowledged,
                "old_token_revoked_at_ms": response.oldTokenRevokedAtMs,
            ]) {
                "rotated \(id) -> \(response.token?.id ?? ""): \(response.acknowledged) of \(response.connected) "
                    + "connected delegate(s) switched; \(id) is revoked at \(time(response.oldTokenRevokedAtMs))\n"
                    + "new value (shown once):\n\(response.value)"
            }
        case ("delegate", "list"):
            var request = DelegateListRequest()
            request.tokenID = try arguments.string("--token").map { name throws(AdminClientError) in
                try tokenID(name, client)
            } ?? ""
            let response = try client.call(.delegateList, request, as: DelegateListResponse.self)
            output(json, ["delegates": response.delegates.map(delegateObject)]) { delegateTable(response.delegates) }
        case ("delegate", "show"):
            var request = DelegateRef()
            request.delegateID = id
            let response = try client.call(.delegateShow, request, as: DelegateInfo.self)
            output(json, delegateObject(response)) {
                delegateTable([response]) + (response.nodeID.isEmpty ? "" : "\nheld by node \(response.nodeID)")
            }
        case ("delegate", "prune"):
            var request = DelegatePruneRequest()
            let age = arguments.string("--disconnected-for") ?? ""
            guard let milliseconds = TimeText.durationMilliseconds(age), milliseconds > 0 else {
                usageError("delegate prune needs --disconnected-for DURATION (such as 24h, 30m, 7d)")
            }
            request.disconnectedForMs = milliseconds
            request.dryRun = arguments.isSet("--dry-run")
            let response = try client.call(.delegatePrune, request, as: DelegatePruneResponse.self)
            output(json, [
                "removed": response.removed, "delegate_ids": response.delegateIds, "dry_run": response.dryRun,
            ]) {
                (response.dryRun ? "would remove" : "removed") + " \(response.removed) delegate record(s)"
                    + (response.delegateIds.isEmpty ? "" : ": " + response.delegateIds.joined(separator: " "))
            }
        case ("node", "list"):
            let response = try client.call(.nodeList, NodeListRequest(), as: NodeListResponse.self)
            output(json, ["nodes": response.nodes.map(nodeObject), "answered_by": response.answeredBy]) {
                table(
                    ["ID", "ADDRESS", "STARTED", "LAST SEEN", "DELEGATES"],
                    response.nodes.map {
                        [$0.id + ($0.id == response.answeredBy ? " (this)" : ""), $0.address, time($0.startedAtMs),
                         time($0.lastSeenAtMs), String($0.connectedDelegates)]
                    })
            }
        case ("audit", "list"):
            var request = AuditListRequest()
            request.limit = UInt32(clamping: integer(arguments, "--limit", default: 100))
            request.action = arguments.string("--action") ?? ""
            request.actor = arguments.string("--actor") ?? ""
            request.sinceMs = instant(arguments, "--since")
            request.untilMs = instant(arguments, "--until")
            let response = try client.call(.auditList, request, as: AuditListResponse.self)
            output(json, ["entries": response.entries.map(auditObject)]) { auditTable(response.entries) }
        default:
            usageError("unknown command '\(noun) \(verb)'")
        }
    } catch {
        fail(error)
    }
    exit(0)
}

func connect(_ arguments: CommandLineArguments) -> AdminClient {
    let environment = ProcessInfo.processInfo.environment
    let managerText = arguments.string("--manager") ?? environment["LEGATE_MANAGER"] ?? "127.0.0.1:7443"
    guard let address = ManagerAddress(managerText) else {
        usageError("--manager \(managerText) is not HOST:PORT (no scheme such as https://, no path)")
    }
    guard let key = arguments.string("--admin-key") ?? environment["LEGATE_ADMIN_KEY"], !key.isEmpty else {
        usageError("an admin API key is required: --admin-key or LEGATE_ADMIN_KEY")
    }
    guard let caFile = arguments.string("--ca-file") ?? environment["LEGATE_CA_FILE"], !caFile.isEmpty else {
        usageError("the manager's CA file is required: --ca-file or LEGATE_CA_FILE")
    }
    guard FileManager.default.isReadableFile(atPath: caFile) else {
        usageError("the CA file \(caFile) does not exist or cannot be read; check --ca-file or LEGATE_CA_FILE")
    }
    do {
        return try AdminClient.connect(
            host: address.host, port: address.port, caFile: caFile,
            serverName: arguments.string("--server-name") ?? (address.host == "127.0.0.1" ? "localhost" : nil),
            apiKey: key, loop: adminGroup.next())
    } catch {
        fail(error)
    }
}

/// The id of the token `text` names: its id, or its name when exactly one token has it.
func tokenID(_ text: String, _ client: AdminClient) throws(AdminClientError) -> String {
    let tokens = try client.call(.tokenList, TokenListRequest(), as: TokenListResponse.self).tokens
    return resolve(text, kind: "token", candidates: tokens.map { ($0.id, $0.name) })
}

/// The id of the delegate `text` names: its id, or its name when exactly one delegate has it.
func delegateID(_ text: String, _ client: AdminClient) throws(AdminClientError) -> String {
    let delegates = try client.call(.delegateList, DelegateListRequest(), as: DelegateListResponse.self).delegates
    return resolve(text, kind: "delegate", candidates: delegates.map { ($0.id, $0.name) })
}

/// `text` when it is an id (or nothing matches: the manager then says it is not found), else the one id whose
/// name it is; a name several share is refused with their ids, since acting on one of them would be a guess.
func resolve(_ text: String, kind: String, candidates: [(id: String, name: String)]) -> String {
    if candidates.contains(where: { $0.id == text }) { return text }
    let named = candidates.filter { $0.name == text }
    guard named.count > 1 else { return named.first?.id ?? text }
    OutputWriter.standardError.write(
        "legatectl: \(named.count) \(kind)s are named \(text) (\(named.map(\.id).joined(separator: ", "))); "
            + "give the id\n")
    exit(1)
}

func fail(_ error: AdminClientError) -> Never {
    OutputWriter.standardError.write("legatectl: \(error)\n")
    switch error {
    case .refused: exit(1)
    case .connection, .malformed, .timedOut: exit(3)
    }
}

func output(_ json: Bool, _ object: [String: Any], text: () -> String) {
    if json {
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    } else {
        print(text())
    }
}

func time(_ milliseconds: Int64) -> String {
    guard milliseconds > 0 else { return "-" }
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}

private func tokenObject(_ token: TokenInfo) -> [String: Any] {
    [
        "id": token.id, "name": token.name, "scope": token.scope, "status": token.status,
        "created_at_ms": token.createdAtMs, "created_by": token.createdBy, "revoked_at_ms": token.revokedAtMs,
        "expires_at_ms": token.expiresAtMs, "connected_delegates": token.connectedDelegates,
        "last_used_at_ms": token.lastUsedAtMs,
    ]
}

func delegateObject(_ delegate: DelegateInfo) -> [String: Any] {
    [
        "id": delegate.id, "name": delegate.name, "instance_id": delegate.instanceID, "hostname": delegate.hostname,
        "ip_address": delegate.ipAddress, "version": delegate.version, "token_id": delegate.tokenID,
        "status": delegate.status, "connected": delegate.connected,
        "last_heartbeat_at_ms": delegate.lastHeartbeatAtMs, "tags": delegate.tags, "profile": delegate.profile,
        "first_seen_at_ms": delegate.firstSeenAtMs, "disconnected_at_ms": delegate.disconnectedAtMs,
        "pending_expires_at_ms": delegate.pendingExpiresAtMs, "decision_reason": delegate.decisionReason,
        "device_key_fingerprint": delegate.deviceKeyFingerprint,
        "node_id": delegate.nodeID,
    ]
}

private func nodeObject(_ node: NodeInfo) -> [String: Any] {
    [
        "id": node.id, "address": node.address, "started_at_ms": node.startedAtMs,
        "last_seen_at_ms": node.lastSeenAtMs, "connected_delegates": node.connectedDelegates,
    ]
}

/// The Unix milliseconds of a `--since`/`--until` value (0 when not given); a usage error when unreadable.
private func instant(_ arguments: CommandLineArguments, _ flag: String) -> Int64 {
    guard let text = arguments.string(flag) else { return 0 }
    let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
    guard let value = TimeText.instantMilliseconds(text, now: now) else {
        usageError("\(flag) \(text): expected a duration ago (24h, 30m, 7d) or a UTC time (2026-11-30T04:00:00Z)")
    }
    return value
}

private func auditObject(_ entry: AuditEntry) -> [String: Any] {
    [
        "sequence": entry.sequence, "at_ms": entry.atMs, "actor": entry.actor, "action": entry.action,
        "target": entry.target, "outcome": entry.outcome, "detail": entry.detail,
    ]
}

func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

private func tokenTable(_ tokens: [TokenInfo]) -> String {
    table(
        ["NAME", "ID", "SCOPE", "STATUS", "CREATED", "CREATED BY", "EXPIRES", "DELEGATES"],
        tokens.map {
            [$0.name, $0.id, $0.scope, $0.status, time($0.createdAtMs), $0.createdBy, time($0.expiresAtMs),
             String($0.connectedDelegates)]
        })
}

func delegateTable(_ delegates: [DelegateInfo]) -> String {
    table(
        ["NAME", "ID", "HOST", "IP", "TOKEN", "PROFILE", "STATUS", "CONNECTED", "LAST HEARTBEAT", "DEVICE KEY"],
        delegates.map {
            [$0.name, $0.id, $0.hostname, $0.ipAddress, $0.tokenID, $0.profile, $0.status,
             $0.connected ? "yes" : "no (since \(time($0.disconnectedAtMs)))", time($0.lastHeartbeatAtMs),
             $0.deviceKeyFingerprint.isEmpty ? "-" : $0.deviceKeyFingerprint]
        })
}

private func auditTable(_ entries: [AuditEntry]) -> String {
    table(
        ["#", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"],
        entries.map {
            [String($0.sequence), time($0.atMs), $0.actor, $0.action, $0.target, $0.outcome, $0.detail]
        })
}
