import Foundation
import LegateManager
import LegateTestSupport
import Testing

/// Key ring membership changes with real `legate-delegate` and `legatectl` processes: a new member gets its copy
/// from an online member, a departed member (deleted: SELF_DESTRUCT, its device key gone) makes a remaining one
/// rotate the ring key and re-seal the secret, and with no member online the change waits and says so.
@Suite(.serialized) struct KeyRingMembershipTests {
    struct Setup {
        let harness: ManagerHarness
        let directory: String
        let cli = LegatectlTests()
        var environment: [String: String] {
            [
                "LEGATE_MANAGER": "127.0.0.1:\(self.harness.port)", "LEGATE_CA_FILE": self.harness.caFile,
                "LEGATE_ADMIN_KEY": self.harness.manager.report.newAdminKeyValue ?? "",
            ]
        }

        func delegate(_ name: String) throws -> DelegateProcess {
            try DelegateProcess(
                environment: SecretsEndToEndTests.delegateEnvironment(
                    self.harness, name: name, tags: "vault", stateDir: self.directory + "/" + name),
                logPath: self.directory + "/\(name).log")
        }

        func ring() throws -> [String: Any] {
            let shown = try self.cli.run(["keyring", "show", "prod", "--json"], environment: self.environment)
            return try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])
        }

        func members() throws -> [String: Bool] {
            let members = try #require(try self.ring()["members"] as? [[String: Any]])
            return Dictionary(
                members.map { ($0["name"] as? String ?? "", $0["has_copy"] as? Bool ?? false) },
                uniquingKeysWith: { first, _ in first })
        }

        func delegateID(_ name: String) throws -> String {
            let listed = try self.cli.run(["delegate", "list", "--json"], environment: self.environment)
            let object = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any]
            let delegates = try #require(object?["delegates"] as? [[String: Any]])
            return try #require(delegates.first { $0["name"] as? String == name }?["id"] as? String)
        }

        /// Runs a shell task using the secret on `target`; its output.
        func runSecretTask(on target: String) throws -> (status: Int32, output: String) {
            let payload = #"{"command": "/bin/sh", "arguments": ["-c", "echo \"got=$DB\""]}"#
            return try self.cli.run(
                ["task", "submit", "--type", "shell", "--payload", payload, "--secret", "DB=db", "--target", target,
                 "--wait", "--wait-timeout", "20", "--json"], environment: self.environment)
        }
    }

    @Test(.enabled(if: DelegateProcess.isBuilt && LegatectlTests.binary != nil))
    func newMembersGetCopiesDepartedOnesTriggerARotationAndNoOnlineMemberMeansWaiting() throws {
        let harness = try ManagerHarness()
        let directory = NSTemporaryDirectory() + "legate-rings-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setup = Setup(harness: harness, directory: directory)
        let first = try setup.delegate("first")
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        #expect(try setup.cli.run(["keyring", "create", "prod", "--members", "tags=vault"], environment: setup.environment).status == 0)
        let valueFile = directory + "/value"
        try Data("membership-secret-value".utf8).write(to: URL(fileURLWithPath: valueFile))
        #expect(try setup.cli.run(["secret", "create", "db", "--keyring", "prod", "--value-file", valueFile],
            environment: setup.environment).status == 0)

        // A new member gets its copy from the online member; the manager only relayed it.
        let second = try setup.delegate("second")
        #expect(eventually(timeout: .seconds(20)) { (try? setup.members()) == ["first": true, "second": true] })
        // The sharing member logs whom it sealed the key to, with the fingerprint the new member logs as its own.
        let secondKey = try #require(
            second.log.split(separator: "\n").first { $0.contains("registered") }?.split(separator: " ")
                .first { $0.hasPrefix("device_key=") }?.dropFirst("device_key=".count))
        #expect(eventually { first.log.contains("key ring key shared") && first.log.contains(String(secondKey)) })
        let onSecond = try setup.runSecretTask(on: try setup.delegateID("second"))
        #expect(onSecond.status == 0 && onSecond.output.contains("got=***"), "\(onSecond.output)\n\(second.log)")

        // The first member is deleted: SELF_DESTRUCT removes its device key; the second makes ring key version 2.
        let firstID = try setup.delegateID("first")
        #expect(try setup.cli.run(["delegate", "delete", firstID], environment: setup.environment).status == 0)
        #expect(first.waitForExit(timeout: .seconds(10)) != nil)
        #expect(!FileManager.default.fileExists(atPath: directory + "/first/device-key"))
        #expect(eventually(timeout: .seconds(20)) { (try? setup.ring())?["ring_version"] as? Int == 2 })
        #expect(second.log.contains("key ring rotated"))
        let rotated = try setup.runSecretTask(on: try setup.delegateID("second"))
        #expect(rotated.status == 0 && rotated.output.contains("got=***"), "\(rotated.output)\n\(second.log)")
        let audit = try setup.cli.run(["audit", "list", "--action", "keyring.*"], environment: setup.environment)
        #expect(audit.output.contains("keyring.share") && audit.output.contains("keyring.rotate"))

        // With the only holder gone, a new member waits, and keyring show says why.
        kill(second.process.processIdentifier, SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(10)) == 0)
        let third = try setup.delegate("third")
        defer { kill(third.process.processIdentifier, SIGTERM) }
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        #expect(eventually(timeout: .seconds(10)) {
            ((try? setup.ring())?["pending_change"] as? String ?? "").contains("waiting for an online member")
        })
        #expect((try setup.members())["third"] == false)
    }

    @Test(.enabled(if: DelegateProcess.isBuilt && LegatectlTests.binary != nil))
    func aRestartedMemberIsTheSameDelegateAndStillOpensTheSecret() throws {
        let harness = try ManagerHarness()
        let directory = NSTemporaryDirectory() + "legate-restart-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setup = Setup(harness: harness, directory: directory)
        let first = try setup.delegate("solo")
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        #expect(try setup.cli.run(["keyring", "create", "prod", "--members", "tags=vault"], environment: setup.environment).status == 0)
        let valueFile = directory + "/value"
        try Data("restart-secret-value".utf8).write(to: URL(fileURLWithPath: valueFile))
        #expect(try setup.cli.run(["secret", "create", "db", "--keyring", "prod", "--value-file", valueFile],
            environment: setup.environment).status == 0)
        let id = try setup.delegateID("solo")
        kill(first.process.processIdentifier, SIGTERM)
        #expect(first.waitForExit(timeout: .seconds(10)) == 0)
        #expect(eventually { harness.manager.connectedDelegates == 0 })

        // The same state directory: the same delegate id, its copy still valid, no other member needed.
        let again = try setup.delegate("solo")
        defer { kill(again.process.processIdentifier, SIGTERM) }
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        #expect(try setup.delegateID("solo") == id)
        let listed = try setup.cli.run(["delegate", "list", "--json"], environment: setup.environment)
        #expect(listed.output.components(separatedBy: "\"name\" : \"solo\"").count == 2, "\(listed.output)")
        let ran = try setup.runSecretTask(on: id)
        #expect(ran.status == 0 && ran.output.contains("got=***"), "\(ran.output)\n\(again.log)")
    }

    @Test(.enabled(if: DelegateProcess.isBuilt && LegatectlTests.binary != nil))
    func aRingCreatedBeforeItsMembersGetsItsFirstKeyWhenCreatedAgain() throws {
        let harness = try ManagerHarness()
        let directory = NSTemporaryDirectory() + "legate-early-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setup = Setup(harness: harness, directory: directory)
        let early = try setup.cli.run(["keyring", "create", "prod", "--members", "tags=vault"], environment: setup.environment)
        let before = try setup.ring()
        #expect(early.status == 0 && before["ring_version"] as? Int == 0)
        let member = try setup.delegate("late")
        defer { kill(member.process.processIdentifier, SIGTERM) }
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        let keyed = try setup.cli.run(["keyring", "create", "prod"], environment: setup.environment)
        #expect(keyed.status == 0 && keyed.output.hasPrefix("keyed key ring prod"), "\(keyed.output)")
        let after = try setup.ring()
        let members = try setup.members()
        #expect(after["ring_version"] as? Int == 1 && members == ["late": true])
        let again = try setup.cli.run(["keyring", "create", "prod"], environment: setup.environment)
        #expect(again.status == 1)  // a ring with a key is not created twice
    }
}
