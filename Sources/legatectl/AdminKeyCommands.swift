// legatectl admin-key commands: admin API keys managed like tokens, the value shown once.
import Foundation
import LegateAdminClient
import LegateCommandLine
import LegateCore
import LegateWire

/// Runs `legatectl admin-key <verb> ...`; never returns.
func runAdminKeyCommand(verb: String, words: ArraySlice<String>) -> Never {
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            Array(words), valueFlags: settingsFlags.union(["--name", "--permissions", "--scope", "--expires-in"]),
            switchFlags: ["--json"])
    } catch {
        usageError("\(error)")
    }
    refuseForeignFlags(arguments, noun: "admin-key", verb: verb)
    let json = arguments.isSet("--json")
    let takesID = verb == "revoke"
    if takesID, arguments.positionals.isEmpty { usageError("admin-key revoke needs a key id or name") }
    if let extra = arguments.positionals.dropFirst(takesID ? 1 : 0).first { usageError("unexpected argument \(extra)") }
    var request = AdminKeyCreateRequest()
    if verb == "create" {
        request.name = required(arguments, "--name")
        request.permissions = required(arguments, "--permissions").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let known = AdminPermission.allCases.map(\.rawValue)
        if let unknown = request.permissions.first(where: { !known.contains($0) }) {
            usageError("--permissions: unknown permission \(unknown); known: \(known.joined(separator: ", "))")
        }
        request.scope = arguments.string("--scope") ?? ""
        do {
            if !request.scope.isEmpty { _ = try Scope(parsing: request.scope) }
        } catch {
            usageError("--scope: \(error)")
        }
        request.expiresInSeconds = integer(arguments, "--expires-in", default: 0)
        if arguments.string("--expires-in") != nil, request.expiresInSeconds <= 0 {
            usageError("--expires-in must be a positive number of seconds; leave it out for a key that never expires")
        }
    }
    let client = connect(arguments)
    defer { client.close() }
    do throws(AdminClientError) {
        switch verb {
        case "create":
            let response = try client.call(.adminKeyCreate, request, as: AdminKeyCreateResponse.self)
            let key = response.key ?? AdminKeyInfo()
            output(json, ["key": adminKeyObject(key), "value": response.value]) {
                "created admin key \(key.name) (\(key.id)) in scope \(key.scope) with "
                    + "\(key.permissions.joined(separator: ","))\nvalue (shown once; store it now):\n\(response.value)"
            }
        case "list":
            let keys = try client.call(.adminKeyList, AdminKeyListRequest(), as: AdminKeyListResponse.self).keys
            output(json, ["keys": keys.map(adminKeyObject)]) {
                table(
                    ["NAME", "ID", "SCOPE", "PERMISSIONS", "STATUS", "CREATED", "CREATED BY", "EXPIRES"],
                    keys.map {
                        [$0.name, $0.id, $0.scope, $0.permissions.joined(separator: ","), $0.status,
                         time($0.createdAtMs), $0.createdBy, time($0.expiresAtMs)]
                    })
            }
        case "revoke":
            let keys = try client.call(.adminKeyList, AdminKeyListRequest(), as: AdminKeyListResponse.self).keys
            var ref = AdminKeyRef()
            ref.keyID = resolve(
                arguments.positionals.first ?? "", kind: "admin key", candidates: keys.map { ($0.id, $0.name) })
            let key = try client.call(.adminKeyRevoke, ref, as: AdminKeyInfo.self)
            output(json, adminKeyObject(key)) { "revoked admin key \(key.name) (\(key.id))" }
        default:
            usageError("unknown command 'admin-key \(verb)'")
        }
    } catch {
        fail(error)
    }
    exit(0)
}

private func adminKeyObject(_ key: AdminKeyInfo) -> [String: Any] {
    [
        "id": key.id, "name": key.name, "scope": key.scope, "permissions": key.permissions, "status": key.status,
        "created_at_ms": key.createdAtMs, "created_by": key.createdBy, "revoked_at_ms": key.revokedAtMs,
        "expires_at_ms": key.expiresAtMs,
    ]
}
