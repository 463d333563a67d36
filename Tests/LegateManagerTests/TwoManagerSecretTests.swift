import Foundation
import LegateTestSupport
import Testing

/// Two manager processes on one PostgreSQL: a key ring and a secret made on one serve a task on the other, which
/// holds the member's connection (each node keeps the secrets directory in memory and reloads it when told).
@Suite(.serialized) struct TwoManagerSecretTests {
    @Test(.enabled(if: TwoManagerFleet.isRunnable && LegatectlTests.binary != nil))
    func aRingAndASecretMadeOnOneManagerServeATaskOnTheOther() throws {
        let fleet = try TwoManagerFleet()
        let directory = NSTemporaryDirectory() + "legate-fleet-secrets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let member = try FleetDelegate(environment: [
            "LEGATE_MANAGER": fleet.secondAddress, "LEGATE_ACCOUNT_ID": fleet.accountID,
            "LEGATE_DELEGATE_TOKEN": fleet.tokenValue, "LEGATE_CA_FILE": fleet.caFile,
            "LEGATE_SERVER_NAME": "localhost", "LEGATE_DELEGATE_NAME": "vault-member", "LEGATE_TAGS": "vault",
            "LEGATE_TASK_TYPES": "shell", "LEGATE_DELEGATE_STATE_DIR": directory + "/member",
        ])
        #expect(member.line(containing: "registered") != nil)
        #expect(try fleet.waitForNodes { $0["node-b"] == 1 }["node-b"] == 1)

        // On node-a: the ring, keyed by legatectl for the member it lists, and a secret sealed to it.
        let created = try fleet.legatectl(["keyring", "create", "prod", "--members", "tags=vault"])
        #expect(created.status == 0, "\(created.output)\(created.error)")
        let valueFile = directory + "/value"
        try Data("fleet-secret-value-42".utf8).write(to: URL(fileURLWithPath: valueFile))
        let secret = try fleet.legatectl(["secret", "create", "db", "--keyring", "prod", "--value-file", valueFile])
        #expect(secret.status == 0, "\(secret.output)\(secret.error)")

        // node-b learns of them from the control queue (woken by NOTIFY, or its poll).
        var known = false
        for _ in 0..<100 where !known {
            known = try fleet.legatectl(["secret", "show", "db"], onSecond: true).status == 0
        }
        #expect(known, "node-b knows the secret made on node-a")

        // On node-b: the task is accepted, routed to its connected member, which opens the value; output masked.
        let payload = #"{"command": "/bin/sh", "arguments": ["-c", "echo \"got=$DB\""]}"#
        let run = try fleet.legatectl(
            ["task", "submit", "--type", "shell", "--payload", payload, "--secret", "DB=db", "--wait",
             "--wait-timeout", "30", "--json"], onSecond: true)
        #expect(run.status == 0 && run.output.contains("got=***"), "\(run.output)\(run.error)")
        #expect(!run.output.contains("fleet-secret-value-42"))
    }
}
