import Foundation
import LegateAdminClient
import LegateCore
@testable import LegateManager
import LegateSecrets
import LegateTestSupport
import LegateWire
import Testing

/// SecretOpened reports are cross-checked: only the holder of the attempt, for a secret version that attempt was
/// sent, is audited as an opening; anything else is refused on the call and audited as a refused report.
@Suite(.serialized) struct SecretOpeningReportTests {
    @Test func onlyTheHolderOfTheAttemptMayReportOpeningTheVersionItWasSent() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        defer { admin.close() }
        let holder = try #require(
            ScriptedDelegate(
                harness, instanceID: "holder", types: ["shell"], tags: ["vault"],
                devicePublicKey: try X25519PrivateKey.generate().publicKey.rawRepresentation))
        let other = try #require(
            ScriptedDelegate(
                harness, instanceID: "other", types: ["echo"], tags: ["vault"],
                devicePublicKey: try X25519PrivateKey.generate().publicKey.rawRepresentation))
        defer {
            holder.client.close()
            other.client.close()
        }
        let sealing = SecretAdminTests()
        let ring = try sealing.ring(admin, "prod", tags: ["vault"])
        #expect(ring.members.count == 2)
        let ringKey = try X25519PrivateKey.generate()
        var upload = KeyRingSetKeyRequest()
        upload.name = "prod"
        upload.ringVersion = 1
        upload.publicKey = ringKey.publicKey.rawRepresentation
        upload.copies = try ring.members.map { try sealing.copy(for: $0, of: ring, key: ringKey) }
        _ = try admin.call(.keyRingSetKey, upload, as: KeyRingInfo.self)
        var create = SecretCreateRequest()
        create.name = "db"
        create.ringName = "prod"
        create.secretID = "sec_report1"
        create.version = 1
        create.ringVersion = 1
        create.envelope = SecretEnvelopeData(
            valueNonce: [1], valueCiphertext: [2], sealedDataKey: SealedBox(encapsulatedKey: [3], ciphertext: [4]))
        _ = try admin.call(.secretCreate, create, as: SecretInfo.self)

        var spec = TaskProtocolTests.spec("shell", payload: TaskProtocolTests.shellPayload)
        spec.secrets = [SecretUse(envName: "DB", secretName: "db")]
        _ = try admin.submitTask(spec)
        let assignment = try #require(holder.nextAssignment())
        #expect(assignment.secrets.map(\.version) == [1])

        var report = SecretOpened()
        report.taskID = assignment.taskID
        report.attempt = assignment.attempt
        report.secretID = "sec_report1"
        report.version = 1
        report.opened = true
        // Another member of the ring does not hold the attempt.
        #expect(other.report(.secretOpened, report)?.code == .permissionDenied)
        // An attempt that is not the current one.
        var stale = report
        stale.attempt += 1
        #expect(holder.report(.secretOpened, stale)?.code == .aborted)
        // A version the attempt was not sent, and a secret the task does not use.
        var wrongVersion = report
        wrongVersion.version = 2
        #expect(holder.report(.secretOpened, wrongVersion)?.code == .permissionDenied)
        var wrongSecret = report
        wrongSecret.secretID = "sec_other"
        #expect(holder.report(.secretOpened, wrongSecret)?.code == .permissionDenied)
        // The holder's report of what it was sent is accepted.
        #expect(holder.report(.secretOpened, report) == nil)

        let services = harness.manager.services
        services.writer.flush()
        let rows = try services.store.auditRecords(accountID: nil, limit: 1000).filter {
            $0.action.hasPrefix("secret.open")
        }
        let refused = rows.filter { $0.action == "secret.open.report" }
        #expect(refused.count == 4 && refused.allSatisfy { $0.outcome == "refused" })
        #expect(refused.contains { $0.actor == "delegate:\(other.delegateID)" && $0.detail.contains("another delegate") })
        let accepted = rows.filter { $0.action == "secret.open" }
        #expect(accepted.count == 1)
        #expect(accepted.first?.outcome == "ok" && accepted.first?.actor == "delegate:\(holder.delegateID)")
        #expect(try admin.call(.secretShow, SecretRef(name: "db"), as: SecretInfo.self).lastUsedAtMs > 0)
    }
}
