// legatectl secret commands. Values are sealed here, on the admin's machine, to the ring's public key; the
// manager stores ciphertext and metadata only.
import Foundation
import LegateAdminClient
import LegateAuth
import LegateCommandLine
import LegateNet
import LegateSecrets
import LegateWire

/// Runs `legatectl secret create|list|show|rotate|delete ...`; never returns.
func runSecretCommand(verb: String, words: ArraySlice<String>) -> Never {
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            Array(words), valueFlags: settingsFlags.union(["--keyring", "--value-file", "--task-types"]),
            switchFlags: ["--json"])
    } catch {
        usageError("\(error)")
    }
    refuseForeignFlags(arguments, noun: "secret", verb: verb)
    let json = arguments.isSet("--json")
    let name = arguments.positionals.first ?? ""
    if verb != "list", name.isEmpty { usageError("secret \(verb) needs the secret NAME") }
    if verb == "create", arguments.string("--keyring") == nil { usageError("secret create needs --keyring RING") }
    // Read (and check) the value before connecting: a value too short to mask is refused locally.
    var value: [UInt8] = (verb == "create" || verb == "rotate") ? readSecretValue(arguments.string("--value-file")) : []
    defer { for index in value.indices { value[index] = 0 } }
    let taskTypes = (arguments.string("--task-types") ?? "").split(separator: ",").map { String($0) }
    let client = connect(arguments)
    defer { client.close() }
    do throws(AdminClientError) {
        switch verb {
        case "create", "rotate":
            var request = SecretCreateRequest()
            request.name = name
            let ring: KeyRingInfo
            var allowed = taskTypes
            if verb == "create" {
                var ref = KeyRingRef()
                ref.name = arguments.string("--keyring") ?? ""
                ring = try client.call(.keyRingShow, ref, as: KeyRingInfo.self)
                request.secretID = "sec_" + String(decoding: SecureRandom.bytes(12).map { hexDigit($0) }.joined().utf8, as: UTF8.self)
                request.version = 1
            } else {
                var ref = SecretRef()
                ref.name = name
                let current = try client.call(.secretShow, ref, as: SecretInfo.self)
                var ringRef = KeyRingRef()
                ringRef.name = current.ringName
                ring = try client.call(.keyRingShow, ringRef, as: KeyRingInfo.self)
                request.secretID = current.id
                request.version = current.version + 1
                if allowed.isEmpty { allowed = current.policy?.allowedTaskTypes ?? [] }
            }
            request.ringName = ring.name
            request.ringVersion = ring.ringVersion
            request.policy = SecretPolicyInfo(allowedTaskTypes: allowed)
            request.envelope = seal(value, request: request, ring: ring)
            let method: AdminMethod = verb == "create" ? .secretCreate : .secretRotate
            let info = try client.call(method, request, as: SecretInfo.self)
            output(json, secretObject(info)) {
                "\(verb == "create" ? "created" : "rotated") secret \(info.name) (\(info.id)) version \(info.version)"
            }
        case "list":
            let list = try client.call(.secretList, SecretListRequest(), as: SecretListResponse.self)
            output(json, ["secrets": list.secrets.map(secretObject)]) { secretTable(list.secrets) }
        case "show":
            var ref = SecretRef()
            ref.name = name
            let info = try client.call(.secretShow, ref, as: SecretInfo.self)
            output(json, secretObject(info)) { secretTable([info]) }
        case "delete":
            var ref = SecretRef()
            ref.name = name
            _ = try client.call(.secretDelete, ref, as: SecretRef.self)
            output(json, ["deleted": name]) { "deleted secret \(name)" }
        default:
            usageError("unknown command 'secret \(verb)'")
        }
    } catch {
        fail(error)
    }
    exit(0)
}

private func hexDigit(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}

/// The value from `--value-file` or standard input (one trailing newline dropped); too short to mask is refused.
private func readSecretValue(_ path: String?) -> [UInt8] {
    let data: Data
    if let path {
        guard let read = FileManager.default.contents(atPath: path) else { usageError("cannot read --value-file \(path)") }
        data = read
    } else {
        data = FileHandle.standardInput.readDataToEndOfFile()
    }
    var bytes = [UInt8](data)
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    guard bytes.count <= 64 << 10 else { usageError("the value is \(bytes.count) bytes; at most 64 KiB are allowed") }
    do throws(SecretsError) {
        try SecretMasker.validate(value: bytes)
    } catch {
        usageError(
            "the value is \(bytes.count) bytes; at least \(SecretMasker.minimumValueLength) are needed so task "
                + "output can be masked")
    }
    return bytes
}

/// Seals `value` for the request's binding to the ring's current public key.
private func seal(_ value: [UInt8], request: SecretCreateRequest, ring: KeyRingInfo) -> SecretEnvelopeData {
    guard ring.ringVersion > 0 else {
        OutputWriter.standardError.write(
            "legatectl: key ring \(ring.name) has no key yet (no member when it was created); see keyring show\n")
        exit(1)
    }
    let binding = SecretBinding(
        secretID: request.secretID, version: request.version, ringID: ring.id, ringVersion: ring.ringVersion,
        policy: SecretPolicy(allowedTaskTypes: request.policy?.allowedTaskTypes ?? []))
    do throws(SecretsError) {
        let envelope = try SecretEnvelope.seal(
            value: value, binding: binding, ringPublicKey: try X25519PublicKey(rawRepresentation: ring.publicKey))
        return SecretEnvelopeData(
            valueNonce: envelope.valueNonce, valueCiphertext: envelope.valueCiphertext,
            sealedDataKey: SealedBox(
                encapsulatedKey: envelope.sealedDataKey.encapsulatedKey,
                ciphertext: envelope.sealedDataKey.ciphertext))
    } catch {
        OutputWriter.standardError.write("legatectl: cannot seal the value: \(error)\n")
        exit(1)
    }
}

private func secretObject(_ secret: SecretInfo) -> [String: Any] {
    [
        "id": secret.id, "name": secret.name, "ring": secret.ringName, "version": secret.version,
        "versions": secret.versions, "created_at_ms": secret.createdAtMs, "updated_at_ms": secret.updatedAtMs,
        "last_used_at_ms": secret.lastUsedAtMs, "allowed_task_types": secret.policy?.allowedTaskTypes ?? [],
    ]
}

private func secretTable(_ secrets: [SecretInfo]) -> String {
    table(
        ["NAME", "ID", "RING", "VERSION", "VERSIONS", "CREATED", "LAST USED", "TASK TYPES"],
        secrets.map {
            [
                $0.name, $0.id, $0.ringName, String($0.version), $0.versions.map(String.init).joined(separator: ","),
                time($0.createdAtMs), time($0.lastUsedAtMs),
                ($0.policy?.allowedTaskTypes ?? []).isEmpty ? "any" : ($0.policy?.allowedTaskTypes ?? []).joined(separator: ","),
            ]
        })
}

/// Takes every `--secret ENV=NAME` out of `words` (the flag may repeat) and returns them as uses.
func takeSecretUses(_ words: inout [String]) -> [SecretUse] {
    var uses: [SecretUse] = []
    var kept: [String] = []
    var index = 0
    while index < words.count {
        let word = words[index]
        var text: String?
        if word == "--secret" {
            guard index + 1 < words.count else { usageError("--secret needs ENV=NAME") }
            text = words[index + 1]
            index += 2
        } else if word.hasPrefix("--secret=") {
            text = String(word.dropFirst("--secret=".count))
            index += 1
        } else {
            kept.append(word)
            index += 1
            continue
        }
        let parts = (text ?? "").split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            usageError("--secret \(text ?? ""): expected ENV=NAME (e.g. DB_PASSWORD=db-password)")
        }
        uses.append(SecretUse(envName: parts[0], secretName: parts[1]))
    }
    words = kept
    return uses
}
