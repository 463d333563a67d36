// legatectl keyring commands. The first ring key is made here: generated, sealed to each member's device public
// key, uploaded with its public half, and forgotten; the manager never sees a private key.
import Foundation
import LegateAdminClient
import LegateCommandLine
import LegateNet
import LegateSecrets
import LegateWire

/// Runs `legatectl keyring create|list|show ...`; never returns.
func runKeyringCommand(verb: String, words: ArraySlice<String>) -> Never {
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            Array(words), valueFlags: settingsFlags.union(["--members"]), switchFlags: ["--json"])
    } catch {
        usageError("\(error)")
    }
    refuseForeignFlags(arguments, noun: "keyring", verb: verb)
    let json = arguments.isSet("--json")
    let rule = arguments.string("--members").map(parseMemberRule)
    let name = arguments.positionals.first ?? ""
    if verb != "list", name.isEmpty { usageError("keyring \(verb) needs the ring NAME") }
    let client = connect(arguments)
    defer { client.close() }
    do throws(AdminClientError) {
        switch verb {
        case "create":
            var request = KeyRingCreateRequest()
            request.name = name
            request.memberRule = rule ?? KeyRingMemberRule()
            var ring: KeyRingInfo
            var verb = "created"
            do {
                ring = try client.call(.keyRingCreate, request, as: KeyRingInfo.self)
            } catch .refused(.alreadyExists, let message) {
                // Created before any member existed: running create again seals its first key to the members now.
                var ref = KeyRingRef()
                ref.name = name
                ring = try client.call(.keyRingShow, ref, as: KeyRingInfo.self)
                guard ring.ringVersion == 0 else { throw .refused(code: .alreadyExists, message: message) }
                if let rule, ruleText(rule) != ruleText(ring.memberRule) {
                    usageError("key ring \(name) exists with members \(ruleText(ring.memberRule)); omit --members")
                }
                verb = "keyed"
            }
            if ring.ringVersion == 0, !ring.members.isEmpty { ring = try uploadFirstRingKey(ring, client: client) }
            output(json, ringObject(ring)) { "\(verb) key ring \(ring.name) (\(ring.id))\n" + ringText(ring) }
        case "update":
            guard let rule else { usageError("keyring update needs --members RULE") }
            var request = KeyRingCreateRequest()
            request.name = name
            request.memberRule = rule
            var ring = try client.call(.keyRingUpdate, request, as: KeyRingInfo.self)
            // A ring that never had a key gets its first one now, sealed here, if the new rule found members.
            if ring.ringVersion == 0, !ring.members.isEmpty { ring = try uploadFirstRingKey(ring, client: client) }
            output(json, ringObject(ring)) { "updated key ring \(ring.name) (\(ring.id))\n" + ringText(ring) }
        case "list":
            let list = try client.call(.keyRingList, KeyRingListRequest(), as: KeyRingListResponse.self)
            output(json, ["rings": list.rings.map(ringObject)]) {
                table(
                    ["NAME", "ID", "KEY VERSION", "MEMBERS", "SECRETS", "RULE", "PENDING"],
                    list.rings.map {
                        [
                            $0.name, $0.id, String($0.ringVersion), String($0.members.count), String($0.secrets),
                            ruleText($0.memberRule), $0.pendingChange.isEmpty ? "-" : $0.pendingChange,
                        ]
                    })
            }
        case "show":
            var request = KeyRingRef()
            request.name = name
            let ring = try client.call(.keyRingShow, request, as: KeyRingInfo.self)
            output(json, ringObject(ring)) { ringText(ring) }
        default:
            usageError("unknown command 'keyring \(verb)'")
        }
    } catch {
        fail(error)
    }
    exit(0)
}

/// Generates the ring key pair, seals its private key to every member's device key, uploads the public key and
/// the copies, and drops the private key.
private func uploadFirstRingKey(_ ring: KeyRingInfo, client: AdminClient) throws(AdminClientError) -> KeyRingInfo {
    var request = KeyRingSetKeyRequest()
    request.name = ring.name
    request.ringVersion = 1
    do throws(SecretsError) {
        let ringKey = try X25519PrivateKey.generate()
        request.publicKey = ringKey.publicKey.rawRepresentation
        for member in ring.members {
            let device = try X25519PublicKey(rawRepresentation: member.devicePublicKey)
            let sealed = try RingKeyCopy.seal(
                ringPrivateKey: ringKey, ringID: ring.id, ringVersion: 1, memberDelegateID: member.delegateID,
                to: device)
            var copy = RingKeyCopyInfo()
            copy.delegateID = member.delegateID
            copy.deviceKeyFingerprint = DeviceKeyFingerprint.of(device)
            copy.sealed = SealedBox(encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext)
            request.copies.append(copy)
        }
    } catch {
        OutputWriter.standardError.write("legatectl: cannot seal the ring key: \(error)\n")
        exit(1)
    }
    return try client.call(.keyRingSetKey, request, as: KeyRingInfo.self)
}

/// Parses `profile=NAME&tags=a,b&token=ID` (every condition must hold; none: every approved delegate).
private func parseMemberRule(_ text: String) -> KeyRingMemberRule {
    var rule = KeyRingMemberRule()
    for condition in text.split(separator: "&") {
        let parts = condition.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[1].isEmpty else {
            usageError("--members: '\(condition)' is not key=value (keys: profile, tags, token)")
        }
        switch parts[0] {
        case "profile": rule.profile = parts[1]
        case "tags": rule.tags = parts[1].split(separator: ",").map { String($0) }
        case "token": rule.tokenID = parts[1]
        default: usageError("--members: unknown condition \(parts[0]) (keys: profile, tags, token)")
        }
    }
    return rule
}

private func ruleText(_ rule: KeyRingMemberRule?) -> String {
    guard let rule else { return "every approved delegate" }
    var parts: [String] = []
    if !rule.profile.isEmpty { parts.append("profile=" + rule.profile) }
    if !rule.tags.isEmpty { parts.append("tags=" + rule.tags.joined(separator: ",")) }
    if !rule.tokenID.isEmpty { parts.append("token=" + rule.tokenID) }
    return parts.isEmpty ? "every approved delegate" : parts.joined(separator: "&")
}

private func ringObject(_ ring: KeyRingInfo) -> [String: Any] {
    [
        "id": ring.id, "name": ring.name, "ring_version": ring.ringVersion, "rule": ruleText(ring.memberRule),
        "pending_change": ring.pendingChange, "secrets": ring.secrets, "scope": ring.scope,
        "members": ring.members.map {
            [
                "delegate_id": $0.delegateID, "name": $0.delegateName, "fingerprint": $0.deviceKeyFingerprint,
                "has_copy": $0.hasCopy, "connected": $0.connected,
            ] as [String: Any]
        },
    ]
}

private func ringText(_ ring: KeyRingInfo) -> String {
    let waiting = ring.members.filter { !$0.hasCopy }.map(\.delegateID)
    return """
        key ring \(ring.name) (\(ring.id)), key version \(ring.ringVersion), rule \(ruleText(ring.memberRule))
        waiting for their copy: \(waiting.isEmpty ? "none" : waiting.joined(separator: ", "))
        pending: \(ring.pendingChange.isEmpty ? "nothing" : ring.pendingChange)

        """
        + table(
            ["MEMBER", "ID", "DEVICE KEY FINGERPRINT", "HAS KEY", "CONNECTED"],
            ring.members.map {
                [
                    $0.delegateName, $0.delegateID, $0.deviceKeyFingerprint, $0.hasCopy ? "yes" : "waiting",
                    $0.connected ? "yes" : "no",
                ]
            })
}
