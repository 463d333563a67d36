import Foundation
import LegateAuth
import LegateManager
import LegateSecrets
import LegateTestSupport
import Testing

@testable import LegateStore

/// Secrets end to end with real `legate-delegate` and `legatectl` processes: a ring sealed to a member's device
/// key, a secret sealed on the admin side, a shell task that gets it, masked output, and nothing that opens it on
/// the manager's side.
@Suite(.serialized) struct SecretsEndToEndTests {
    static func delegateEnvironment(_ harness: ManagerHarness, name: String, tags: String, stateDir: String)
        -> [String: String]
    {
        [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_ACCOUNT_ID": harness.accountID,
            "LEGATE_DELEGATE_TOKEN": harness.manager.report.newDefaultTokenValue ?? "",
            "LEGATE_CA_FILE": harness.caFile, "LEGATE_SERVER_NAME": "localhost", "LEGATE_TASK_TYPES": "shell",
            "LEGATE_DELEGATE_NAME": name, "LEGATE_TAGS": tags, "LEGATE_DELEGATE_STATE_DIR": stateDir,
        ]
    }

    @Test(.enabled(if: DelegateProcess.isBuilt && LegatectlTests.binary != nil))
    func aMemberOpensTheSecretMaskedANonMemberNeverGetsItAndTamperingIsRefused() throws {
        let harness = try ManagerHarness()
        let directory = NSTemporaryDirectory() + "legate-secrets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cli = LegatectlTests()
        let environment = [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_CA_FILE": harness.caFile,
            "LEGATE_ADMIN_KEY": harness.manager.report.newAdminKeyValue ?? "",
        ]
        let member = try DelegateProcess(
            environment: Self.delegateEnvironment(harness, name: "vault-member", tags: "vault", stateDir: directory + "/m"),
            logPath: directory + "/member.log")
        let outsider = try DelegateProcess(
            environment: Self.delegateEnvironment(harness, name: "outsider", tags: "other", stateDir: directory + "/o"),
            logPath: directory + "/outsider.log")
        #expect(eventually { harness.manager.connectedDelegates == 2 })
        // The device key file is private, and the fingerprint the delegate prints is the one legatectl shows.
        let keyMode = try FileManager.default.attributesOfItem(atPath: directory + "/m/device-key")[.posixPermissions]
        #expect((keyMode as? NSNumber)?.intValue == 0o600)

        let created = try cli.run(["keyring", "create", "prod", "--members", "tags=vault"], environment: environment)
        #expect(created.status == 0, "\(created.output)")
        let shown = try cli.run(["keyring", "show", "prod", "--json"], environment: environment)
        let ring = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        let members = try #require(ring["members"] as? [[String: Any]])
        #expect(members.count == 1 && members.first?["name"] as? String == "vault-member")
        #expect(members.first?["has_copy"] as? Bool == true)
        let fingerprint = try #require(members.first?["fingerprint"] as? String)
        #expect(member.log.contains(fingerprint), "log: \(member.log)")
        #expect(try cli.run(["delegate", "list"], environment: environment).output.contains(fingerprint))
        #expect(try cli.run(["delegate", "show", "vault-member"], environment: environment).output.contains(fingerprint))

        let value = "s3cr3t-" + UUID().uuidString
        let valueFile = directory + "/value"
        try Data(value.utf8).write(to: URL(fileURLWithPath: valueFile))
        let secret = try cli.run(
            ["secret", "create", "db", "--keyring", "prod", "--value-file", valueFile], environment: environment)
        #expect(secret.status == 0, "\(secret.output)")
        #expect(try cli.run(["secret", "create", "short", "--keyring", "prod", "--value-file", "/dev/null"],
            environment: environment).status == 2)

        let payload = #"{"command": "/bin/sh", "arguments": ["-c", "printf %s \"$DB\" | sha256sum; echo \"value=$DB\""]}"#
        let ran = try cli.run(
            ["task", "submit", "--type", "shell", "--payload", payload, "--secret", "DB=db", "--wait", "--json"],
            environment: environment)
        #expect(ran.status == 0, "\(ran.output)\n\(member.log)")
        let digest = SHA256Digest.hash(Array(value.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(ran.output.contains(digest))
        #expect(ran.output.contains("value=***"))
        #expect(!ran.output.contains(value))

        // A task pinned to the non-member waits, naming the ring; it is never assigned.
        let outsiderID = try #require(
            (try JSONSerialization.jsonObject(
                with: Data(try cli.run(["delegate", "list", "--json"], environment: environment).output.utf8))
                as? [String: Any])?["delegates"] as? [[String: Any]]
        ).first { $0["name"] as? String == "outsider" }?["id"] as? String
        let pinned = try cli.run(
            ["task", "submit", "--type", "shell", "--payload", payload, "--secret", "DB=db", "--target",
             try #require(outsiderID), "--wait", "--wait-timeout", "1"], environment: environment)
        #expect(pinned.status == 1)
        #expect(pinned.output.contains("key ring prod"), "\(pinned.output)")
        #expect(!outsider.log.contains("task started"))

        // Nothing the manager stored or logged holds the value.
        harness.manager.flushStore()
        let database = harness.dataDirectory + "/legate.db"
        for path in [database, database + "-wal"] {
            let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
            #expect(!Self.contains(bytes, Array(value.utf8)), "\(path) holds the value")
        }
        #expect(!harness.log.text.contains(value))
        let audit = try cli.run(["audit", "list", "--action", "secret.*"], environment: environment)
        #expect(audit.output.contains("secret.open") && audit.output.contains("secret.create"))

        // A policy changed in the database no longer matches what the value was sealed with: refused.
        harness.manager.shutdown()
        let store = try SQLiteStateStore(path: database)
        try store.executeForTesting("UPDATE secret_versions SET allowed_task_types = '[\"shell\"]'")
        try harness.restart()
        #expect(eventually(timeout: .seconds(10)) { harness.manager.connectedDelegates == 2 })
        let environmentAfter = environment.merging(["LEGATE_MANAGER": "127.0.0.1:\(harness.port)"]) { $1 }
        let tampered = try cli.run(
            ["task", "submit", "--type", "shell", "--payload", payload, "--secret", "DB=db", "--wait", "--json"],
            environment: environmentAfter)
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("refused to open secret db"), "\(tampered.output)")
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
