import Foundation
import LegateAdminClient
import LegateAuth
import LegateCore
import LegateDelegate
@testable import LegateManager
import LegateSecrets
import LegateTestSupport
import LegateWire
import Testing

/// Key ring and secret admin calls against a real manager: what is refused and why, permissions, fingerprints.
@Suite(.serialized) struct SecretAdminTests {
    func refusal(_ body: () throws -> Void) -> (code: StatusCode, message: String)? {
        do {
            try body()
            return nil
        } catch let error as AdminClientError {
            guard case .refused(let code, let message) = error else { return nil }
            return (code, message)
        } catch {
            return nil
        }
    }

    func ring(_ admin: AdminClient, _ name: String, tags: [String]) throws -> KeyRingInfo {
        var request = KeyRingCreateRequest()
        request.name = name
        request.memberRule = KeyRingMemberRule(tags: tags)
        return try admin.call(.keyRingCreate, request, as: KeyRingInfo.self)
    }

    func copy(for member: KeyRingMember, of ring: KeyRingInfo, key: X25519PrivateKey, fingerprint: String? = nil)
        throws -> RingKeyCopyInfo
    {
        let sealed = try RingKeyCopy.seal(
            ringPrivateKey: key, ringID: ring.id, ringVersion: 1, memberDelegateID: member.delegateID,
            to: try X25519PublicKey(rawRepresentation: member.devicePublicKey))
        var copy = RingKeyCopyInfo()
        copy.delegateID = member.delegateID
        copy.deviceKeyFingerprint = fingerprint ?? member.deviceKeyFingerprint
        copy.sealed = SealedBox(encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext)
        return copy
    }

    @Test func ringsSecretsAndTheirRefusals() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        defer { admin.close() }
        let device = try X25519PrivateKey.generate()
        var configuration = harness.delegateConfiguration(name: "member")
        configuration.tags = ["vault"]
        configuration.deviceKey = device
        configuration.builtInTaskTypes = ["echo", "shell"]
        let (delegate, _) = try harness.startDelegate(configuration)
        defer { delegate.stop() }
        #expect(eventually { harness.manager.connectedDelegates == 1 })

        // The manager shows the fingerprint the delegate computes from its own key.
        let listed = try admin.call(.delegateList, DelegateListRequest(), as: DelegateListResponse.self)
        #expect(listed.delegates.first?.deviceKeyFingerprint == DeviceKeyFingerprint.of(device.publicKey))
        #expect(DeviceFingerprint.of(device.publicKey.rawRepresentation) == DeviceKeyFingerprint.of(device.publicKey))

        let empty = try self.ring(admin, "nobody", tags: ["none"])
        #expect(empty.members.isEmpty && empty.ringVersion == 0 && empty.pendingChange.contains("no ring key yet"))
        #expect(self.refusal { _ = try self.ring(admin, "nobody", tags: []) }?.code == .alreadyExists)

        let ring = try self.ring(admin, "prod", tags: ["vault"])
        let member = try #require(ring.members.first)
        #expect(ring.members.count == 1 && member.deviceKeyFingerprint == DeviceKeyFingerprint.of(device.publicKey))
        #expect(!member.hasCopy && ring.pendingChange.contains("upload one"))

        let ringKey = try X25519PrivateKey.generate()
        var upload = KeyRingSetKeyRequest()
        upload.name = "prod"
        upload.ringVersion = 1
        upload.publicKey = ringKey.publicKey.rawRepresentation
        var stranger = try self.copy(for: member, of: ring, key: ringKey)
        stranger.delegateID = "dlg_someone_else"
        upload.copies = [stranger]
        #expect(self.refusal { _ = try admin.call(.keyRingSetKey, upload, as: KeyRingInfo.self) }?.code == .invalidArgument)
        // A copy sealed to another device key than the member presents (a slipped-in key) is refused.
        upload.copies = [try self.copy(for: member, of: ring, key: ringKey, fingerprint: "SHA256:other")]
        #expect(
            self.refusal { _ = try admin.call(.keyRingSetKey, upload, as: KeyRingInfo.self) }?.code
                == .failedPrecondition)
        upload.copies = [try self.copy(for: member, of: ring, key: ringKey)]
        let keyed = try admin.call(.keyRingSetKey, upload, as: KeyRingInfo.self)
        #expect(keyed.ringVersion == 1 && keyed.members.first?.hasCopy == true && keyed.pendingChange.isEmpty)
        #expect(self.refusal { _ = try admin.call(.keyRingSetKey, upload, as: KeyRingInfo.self) }?.code == .failedPrecondition)

        // Secrets: sealed by the caller for the binding it names; versions must follow each other.
        var create = SecretCreateRequest()
        create.name = "db"
        create.ringName = "nobody"
        create.secretID = "sec_test1"
        create.version = 1
        create.ringVersion = 0
        create.envelope = SecretEnvelopeData(
            valueNonce: [1], valueCiphertext: [2], sealedDataKey: SealedBox(encapsulatedKey: [3], ciphertext: [4]))
        #expect(self.refusal { _ = try admin.call(.secretCreate, create, as: SecretInfo.self) }?.code == .failedPrecondition)
        create.ringName = "prod"
        create.ringVersion = 1
        create.version = 2
        #expect(self.refusal { _ = try admin.call(.secretCreate, create, as: SecretInfo.self) }?.code == .failedPrecondition)
        create.version = 1
        create.envelope?.valueCiphertext = Array(repeating: 1, count: (64 << 10) + 17)  // it must fit a TASK_ASSIGN
        #expect(self.refusal { _ = try admin.call(.secretCreate, create, as: SecretInfo.self) }?.code == .invalidArgument)
        create.envelope?.valueCiphertext = [2]
        let created = try admin.call(.secretCreate, create, as: SecretInfo.self)
        #expect(created.version == 1 && created.ringName == "prod" && created.lastUsedAtMs == 0)
        #expect(self.refusal { _ = try admin.call(.secretCreate, create, as: SecretInfo.self) }?.code == .alreadyExists)
        create.version = 2
        let rotated = try admin.call(.secretRotate, create, as: SecretInfo.self)
        #expect(rotated.versions == [1, 2] && rotated.version == 2)
        let list = try admin.call(.secretList, SecretListRequest(), as: SecretListResponse.self)
        #expect(list.secrets.map(\.name) == ["db"])

        // Tasks that use secrets need secret:use on top of task:submit.
        let submitter = try harness.manager.services.adminKeys.create(
            accountID: harness.accountID, name: "ci", permissions: [.taskSubmit, .taskView], actor: "test").value
        let limited = try TaskProtocolTests.admin(harness, key: submitter)
        defer { limited.close() }
        var spec = TaskProtocolTests.spec("shell", payload: TaskProtocolTests.shellPayload)
        spec.secrets = [SecretUse(envName: "DB", secretName: "db")]
        var submit = TaskSubmitRequest()
        submit.tasks = [spec]
        let denied = self.refusal { _ = try limited.call(.taskSubmit, submit, as: TaskSubmitResponse.self) }
        #expect(denied?.code == .permissionDenied && denied?.message.contains("secret:use") == true)
        spec.secrets = [SecretUse(envName: "1BAD", secretName: "db")]
        submit.tasks = [spec]
        #expect(self.refusal { _ = try admin.call(.taskSubmit, submit, as: TaskSubmitResponse.self) }?.code == .invalidArgument)
        spec.secrets = (0..<17).map { SecretUse(envName: "DB\($0)", secretName: "db") }
        submit.tasks = [spec]
        #expect(self.refusal { _ = try admin.call(.taskSubmit, submit, as: TaskSubmitResponse.self) }?.code == .invalidArgument)
        // A payload that leaves no room in the assignment for the sealed secret is refused at submit.
        var big = TaskProtocolTests.spec("echo", payload: String(repeating: "x", count: 1_047_300))
        big.secrets = [SecretUse(envName: "DB", secretName: "db")]
        submit.tasks = [big]
        let tooBig = self.refusal { _ = try admin.call(.taskSubmit, submit, as: TaskSubmitResponse.self) }
        #expect(tooBig?.code == .invalidArgument && tooBig?.message.contains("secrets of one task") == true)
        spec.secrets = [SecretUse(envName: "DB", secretName: "missing")]
        submit.tasks = [spec]
        #expect(self.refusal { _ = try admin.call(.taskSubmit, submit, as: TaskSubmitResponse.self) }?.code == .notFound)

        var ref = SecretRef()
        ref.name = "db"
        _ = try admin.call(.secretDelete, ref, as: SecretRef.self)
        #expect(self.refusal { _ = try admin.call(.secretShow, ref, as: SecretInfo.self) }?.code == .notFound)
    }

    @Test func aRuleThatDropsAMemberMakesTheOtherMemberRotateTheRingKey() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        defer { admin.close() }
        let (_, clients, ringKey) = try self.keyedRingOfTwo(harness, admin, leaving: "dropped")
        defer { for client in clients { client.stop() } }

        // The new rule keeps only the first token's delegates: "dropped" leaves, and "stays" makes version 2.
        var update = KeyRingCreateRequest()
        update.name = "prod"
        var rule = KeyRingMemberRule()
        rule.tags = ["vault"]
        rule.tokenID = harness.token.id
        update.memberRule = rule
        let updated = try admin.call(.keyRingUpdate, update, as: KeyRingInfo.self)
        #expect(updated.memberRule?.tokenID == harness.token.id)
        var ref = KeyRingRef()
        ref.name = "prod"
        #expect(eventually(timeout: .seconds(10)) {
            (try? admin.call(.keyRingShow, ref, as: KeyRingInfo.self))?.ringVersion == 2
        })
        let rotated = try admin.call(.keyRingShow, ref, as: KeyRingInfo.self)
        #expect(rotated.members.map(\.delegateName) == ["stays"] && rotated.members.first?.hasCopy == true)
        #expect(rotated.publicKey != ringKey.publicKey.rawRepresentation)
        // Updating a ring that does not exist names it.
        update.name = "nope"
        #expect(self.refusal { _ = try admin.call(.keyRingUpdate, update, as: KeyRingInfo.self) }?.code == .notFound)
    }

    @Test func aRevokedTokensMemberLeavesAndTheOtherMemberRotatesTheRingKey() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        defer { admin.close() }
        let (secondToken, clients, ringKey) = try self.keyedRingOfTwo(harness, admin, leaving: "leaves")
        defer { for client in clients { client.stop() } }

        var revoke = TokenRevokeRequest()
        revoke.tokenID = secondToken.id
        _ = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
        var ref = KeyRingRef()
        ref.name = "prod"
        #expect(eventually(timeout: .seconds(10)) {
            (try? admin.call(.keyRingShow, ref, as: KeyRingInfo.self))?.ringVersion == 2
        })
        let rotated = try admin.call(.keyRingShow, ref, as: KeyRingInfo.self)
        #expect(rotated.members.map(\.delegateName) == ["stays"] && rotated.members.first?.hasCopy == true)
        #expect(rotated.pendingChange.isEmpty && rotated.publicKey != ringKey.publicKey.rawRepresentation)
    }

    /// Two connected members of key ring "prod" (tags vault) with its first key uploaded: "stays" on the harness
    /// token and `leaving` on a second token; returns that token, the clients (stop them) and the ring key.
    private func keyedRingOfTwo(_ harness: ManagerHarness, _ admin: AdminClient, leaving: String) throws
        -> (DelegateToken, [DelegateClient], X25519PrivateKey)
    {
        var create = TokenCreateRequest()
        create.name = "second"
        let secondToken = try DelegateToken.parse(try admin.call(.tokenCreate, create, as: TokenCreateResponse.self).value)
        var clients: [DelegateClient] = []
        for (name, token) in [("stays", harness.token), (leaving, secondToken)] {
            var configuration = harness.delegateConfiguration(name: name, token: token)
            configuration.tags = ["vault"]
            configuration.deviceKey = try X25519PrivateKey.generate()
            clients.append(try harness.startDelegate(configuration).0)
        }
        #expect(eventually { harness.manager.connectedDelegates == 2 })
        let ring = try self.ring(admin, "prod", tags: ["vault"])
        #expect(ring.members.count == 2)
        let ringKey = try X25519PrivateKey.generate()
        var upload = KeyRingSetKeyRequest()
        upload.name = "prod"
        upload.ringVersion = 1
        upload.publicKey = ringKey.publicKey.rawRepresentation
        upload.copies = try ring.members.map { try self.copy(for: $0, of: ring, key: ringKey) }
        _ = try admin.call(.keyRingSetKey, upload, as: KeyRingInfo.self)
        return (secondToken, clients, ringKey)
    }
}
