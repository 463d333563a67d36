// legatectl profile and approval commands. Exit codes as the other admin commands.
import Foundation
import LegateAdminClient
import LegateCommandLine
import LegateCore
import LegateNet
import LegateWire

/// The `delegate` verbs served here.
let approvalVerbs: Set<String> = ["pending", "approve", "reject", "delete"]

/// Runs `legatectl profile ...` or `legatectl delegate pending|approve|reject|delete ...`; never returns.
func runApprovalCommand(noun: String, verb: String, words: ArraySlice<String>) -> Never {
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            Array(words),
            valueFlags: [
                "--manager", "--admin-key", "--ca-file", "--server-name", "--name", "--requires-approval",
                "--script-file", "--auto-approve", "--profile", "--token", "--reason",
            ],
            switchFlags: ["--json", "--no-script", "--no-auto-approve"])
    } catch {
        usageError("\(error)")
    }
    refuseForeignFlags(arguments, noun: noun, verb: verb)
    let json = arguments.isSet("--json")
    // Everything that can be checked locally is checked before connecting (usage errors exit 2).
    let requiresApproval = arguments.string("--requires-approval").map(parseBool)
    let script = arguments.string("--script-file").map(readScript)
    let rules = arguments.string("--auto-approve").map(parseRules)
    switch (noun, verb) {
    case ("profile", "create"), ("profile", "update"), ("profile", "list"), ("profile", "delete"),
        ("delegate", "pending"), ("delegate", "approve"), ("delegate", "reject"), ("delegate", "delete"):
        break
    default:
        usageError("unknown command '\(noun) \(verb)'")
    }
    let takesNoArguments = [("profile", "create"), ("profile", "list"), ("delegate", "pending")]
    if takesNoArguments.contains(where: { $0 == (noun, verb) }), let extra = arguments.positionals.first {
        usageError("unexpected argument \(extra)")
    }
    let client = connect(arguments)
    defer { client.close() }
    do throws(AdminClientError) {
        switch (noun, verb) {
        case ("profile", "create"):
            var spec = ProfileSpec()
            spec.name = required(arguments, "--name")
            spec.requiresApproval = requiresApproval ?? false
            spec.startupScript = script ?? ""
            spec.autoApproval = rules ?? []
            let info = try client.call(.profileCreate, spec, as: ProfileInfo.self)
            output(json, profileObject(info)) { "created profile \(info.name) (\(info.id))\n" + profileTable([info]) }
        case ("profile", "update"):
            let name = single(arguments, "profile update needs the profile NAME")
            let list = try client.call(.profileList, ProfileListRequest(), as: ProfileListResponse.self)
            guard let current = list.profiles.first(where: { $0.name == name }) else {
                OutputWriter.standardError.write("legatectl: profile \(name) does not exist\n")
                exit(1)
            }
            var spec = ProfileSpec()
            spec.name = name
            spec.requiresApproval = requiresApproval ?? current.requiresApproval
            spec.startupScript = arguments.isSet("--no-script") ? "" : (script ?? current.startupScript)
            spec.autoApproval = arguments.isSet("--no-auto-approve") ? [] : (rules ?? current.autoApproval)
            let info = try client.call(.profileUpdate, spec, as: ProfileInfo.self)
            output(json, profileObject(info)) { "updated profile \(info.name)\n" + profileTable([info]) }
        case ("profile", "list"):
            let list = try client.call(.profileList, ProfileListRequest(), as: ProfileListResponse.self)
            output(json, ["profiles": list.profiles.map(profileObject)]) { profileTable(list.profiles) }
        case ("profile", "delete"):
            var request = ProfileRef()
            request.name = single(arguments, "profile delete needs the profile NAME")
            _ = try client.call(.profileDelete, request, as: ProfileRef.self)
            output(json, ["deleted": request.name]) { "deleted profile \(request.name)" }
        case ("delegate", "pending"):
            var request = DelegatePendingListRequest()
            request.profile = arguments.string("--profile") ?? ""
            let response = try client.call(.delegatePendingList, request, as: DelegateListResponse.self)
            output(json, ["delegates": response.delegates.map(delegateObject)]) {
                table(
                    [
                        "NAME", "ID", "HOST", "IP", "VERSION", "TOKEN", "PROFILE", "FIRST SEEN", "EXPIRES", "CONNECTED",
                        "DEVICE KEY",
                    ],
                    response.delegates.map {
                        [
                            $0.name, $0.id, $0.hostname, $0.ipAddress, $0.version, $0.tokenID, $0.profile,
                            time($0.firstSeenAtMs), time($0.pendingExpiresAtMs), $0.connected ? "yes" : "no",
                            $0.deviceKeyFingerprint.isEmpty ? "-" : $0.deviceKeyFingerprint,
                        ]
                    })
            }
        case ("delegate", "approve"), ("delegate", "reject"):
            var request = DelegateDecisionRequest()
            for name in arguments.positionals { request.delegateIds.append(try delegateID(name, client)) }
            request.profile = arguments.string("--profile") ?? ""
            if let token = arguments.string("--token") { request.tokenID = try tokenID(token, client) }
            request.reason = arguments.string("--reason") ?? ""
            let ways = [!request.delegateIds.isEmpty, !request.profile.isEmpty, !request.tokenID.isEmpty]
            guard ways.filter({ $0 }).count == 1 else {
                usageError("delegate \(verb): give delegate IDs, or --profile NAME, or --token ID (exactly one)")
            }
            if verb == "reject", request.reason.isEmpty { usageError("delegate reject needs --reason TEXT") }
            let method: AdminMethod = verb == "approve" ? .delegateApprove : .delegateReject
            let response = try client.call(method, request, as: DelegateDecisionResponse.self)
            output(json, ["decided": response.decided, "told": response.told, "skipped": response.skipped]) {
                ([
                    "\(verb == "approve" ? "approved" : "rejected") \(response.decided.count) delegate(s), "
                        + "\(response.told) told over their connection"
                ]
                    + response.decided.map { "  \($0)" } + response.skipped.map { "  skipped \($0)" })
                    .joined(separator: "\n")
            }
            if response.decided.isEmpty { exit(1) }
        case ("delegate", "delete"):
            var request = DelegateRef()
            request.delegateID = try delegateID(single(arguments, "delegate delete needs the delegate ID"), client)
            _ = try client.call(.delegateDelete, request, as: DelegateRef.self)
            output(json, ["deleted": request.delegateID]) { "deleted delegate \(request.delegateID)" }
        default:
            usageError("unknown command '\(noun) \(verb)'")
        }
    } catch {
        fail(error)
    }
    exit(0)
}

private func single(_ arguments: CommandLineArguments, _ problem: String) -> String {
    guard arguments.positionals.count == 1, let value = arguments.positionals.first else { usageError(problem) }
    return value
}

private func parseBool(_ text: String) -> Bool {
    switch text.lowercased() {
    case "true", "yes", "1": return true
    case "false", "no", "0": return false
    default: usageError("--requires-approval takes true or false, not \(text)")
    }
}

private func readScript(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { usageError("cannot read --script-file \(path)") }
    guard let text = String(data: data, encoding: .utf8) else { usageError("--script-file \(path) is not UTF-8") }
    return text
}

/// Parses RULES (see the usage) into wire rules; checks CIDRs locally so a typo is a usage error.
private func parseRules(_ text: String) -> [LegateWire.AutoApprovalRule] {
    text.split(separator: ";").map { ruleText in
        var rule = LegateWire.AutoApprovalRule()
        for condition in ruleText.split(separator: "&") {
            let parts = condition.split(separator: "=", maxSplits: 1).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard parts.count == 2, !parts[1].isEmpty else {
                usageError("--auto-approve: '\(condition)' is not key=value (keys: cidr, host, token)")
            }
            switch parts[0] {
            case "cidr":
                rule.sourceCidrs = parts[1].split(separator: ",").map { String($0) }
                if let bad = rule.sourceCidrs.first(where: { CIDRNetwork($0) == nil }) {
                    usageError("--auto-approve: \(bad) is not a CIDR such as 10.0.0.0/8 or fd00::/8")
                }
            case "host": rule.hostnamePattern = parts[1]
            case "token": rule.tokenID = parts[1]
            default: usageError("--auto-approve: unknown condition \(parts[0]) (keys: cidr, host, token)")
            }
        }
        return rule
    }
}

private func ruleText(_ rule: LegateWire.AutoApprovalRule) -> String {
    var parts: [String] = []
    if !rule.sourceCidrs.isEmpty { parts.append("cidr=" + rule.sourceCidrs.joined(separator: ",")) }
    if !rule.hostnamePattern.isEmpty { parts.append("host=" + rule.hostnamePattern) }
    if !rule.tokenID.isEmpty { parts.append("token=" + rule.tokenID) }
    return parts.joined(separator: "&")
}

private func profileObject(_ profile: ProfileInfo) -> [String: Any] {
    [
        "id": profile.id, "name": profile.name, "requires_approval": profile.requiresApproval,
        "startup_script": profile.startupScript, "auto_approve": profile.autoApproval.map(ruleText),
        "created_at_ms": profile.createdAtMs, "updated_at_ms": profile.updatedAtMs, "delegates": profile.delegates,
    ]
}

private func profileTable(_ profiles: [ProfileInfo]) -> String {
    table(
        ["NAME", "ID", "APPROVAL", "SCRIPT", "DELEGATES", "UPDATED", "AUTO-APPROVE"],
        profiles.map {
            [
                $0.name, $0.id, $0.requiresApproval ? "required" : "none",
                $0.startupScript.isEmpty ? "-" : "\($0.startupScript.utf8.count) B", String($0.delegates),
                time($0.updatedAtMs),
                $0.autoApproval.isEmpty ? "-" : $0.autoApproval.map(ruleText).joined(separator: "; "),
            ]
        })
}
