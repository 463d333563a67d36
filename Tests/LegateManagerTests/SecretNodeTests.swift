import LegateAuth
import LegateCore
@testable import LegateManager
import LegateNet
import LegateSecrets
import LegateStore
import LegateTestSupport
import LegateWire
import Testing

/// Key ring and secret changes made on one manager node reach another sharing the store: two sets of services,
/// each with its own in-memory directories, on one store, as two manager processes would be.
@Suite struct SecretNodeTests {
    /// One node's services over the shared store.
    final class Node: Sendable {
        let services: ManagerServices

        init(_ id: String, store: InMemoryStateStore, clock: ManualClock) throws {
            let log = InMemoryLogSink()
            let writer = StoreWriter(store: store, log: log)
            let tasks = TaskService(
                configuration: ManagerConfiguration.defaults.tasks, store: store, writer: writer, log: log, clock: clock)
            try tasks.start()
            var configuration = NodeConfiguration()
            configuration.outcomeDeadline = .milliseconds(20)  // the token create waits for a node that applies later
            let cluster = NodeCluster(
                nodeID: id, address: "\(id):1", configuration: configuration, store: store, clock: clock, log: log)
            self.services = ManagerServices(
                configuration: .defaults, store: store, masterKey: Self.masterKey, clock: clock, tokens: TokenDirectory(),
                registry: DelegateRegistry(), profiles: ProfileDirectory(), writer: writer, log: log, tasks: tasks,
                cluster: cluster)
            try cluster.renew()
        }

        deinit { self.services.tasks.stop() }

        /// Every node of a fleet shares the master key.
        static let masterKey = MasterKey.generate()
    }

    static let accountID = "acc-1"

    static func member(_ id: String, tokenID: String, device: X25519PrivateKey, now: Int64) -> DelegateRecord {
        var record = DelegateRecord(
            id: id, accountID: Self.accountID, instanceID: "inst-\(id)", name: id, hostname: "h",
            ipAddress: "127.0.0.1", version: "1", tags: ["vault"], taskTypes: ["shell"], profile: "default",
            tokenID: tokenID, status: .active, firstSeenAt: now)
        record.devicePublicKey = device.publicKey.rawRepresentation
        return record
    }

    @Test func ringsCopiesAndSecretsMadeOnOneNodeAreKnownOnTheOther() throws {
        let store = InMemoryStateStore()
        let clock = ManualClock(unixMilliseconds: 1_767_225_600_000)
        try store.apply([
            .insertAccount(AccountRecord(id: Self.accountID, name: "a", createdAt: clock.unixMilliseconds()))
        ])
        let first = try Node("node-a", store: store, clock: clock)
        let second = try Node("node-b", store: store, clock: clock)
        try first.services.cluster.renew()  // now it sees node-b as a live peer
        let session = AdminSession(
            keyID: "key-1", accountID: Self.accountID, permissions: Set(AdminPermission.allCases), scope: .account)

        // A token and two member delegates both nodes know (as registration and the token control would tell them).
        let token = try first.services.tokenService.create(accountID: Self.accountID, name: "t", actor: "test").record
        #expect(second.services.applyQueuedControls() == 1)
        let devices = [try X25519PrivateKey.generate(), try X25519PrivateKey.generate()]
        let members = [
            Self.member("dlg-1", tokenID: token.id, device: devices[0], now: clock.unixMilliseconds()),
            Self.member("dlg-2", tokenID: token.id, device: devices[1], now: clock.unixMilliseconds()),
        ]
        try store.apply(members.map { .upsertDelegate($0) })
        for node in [first, second] { node.services.registry.load(members) }

        // On node-a: a ring keyed for the first member only, and a secret sealed to it.
        let created = try first.services.secrets.createRing(
            KeyRingCreateRequest(name: "prod", memberRule: KeyRingMemberRule(tags: ["vault"])), session: session)
        let ringKey = try X25519PrivateKey.generate()
        var upload = KeyRingSetKeyRequest()
        upload.name = "prod"
        upload.ringVersion = 1
        upload.publicKey = ringKey.publicKey.rawRepresentation
        let sealed = try RingKeyCopy.seal(
            ringPrivateKey: ringKey, ringID: created.id, ringVersion: 1, memberDelegateID: "dlg-1",
            to: devices[0].publicKey)
        var copy = RingKeyCopyInfo()
        copy.delegateID = "dlg-1"
        copy.deviceKeyFingerprint = DeviceKeyFingerprint.of(devices[0].publicKey)
        copy.sealed = SealedBox(encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext)
        upload.copies = [copy]
        _ = try first.services.secrets.setRingKey(upload, session: session)
        var secret = SecretCreateRequest()
        secret.name = "db"
        secret.ringName = "prod"
        secret.secretID = "sec_node1"
        secret.version = 1
        secret.ringVersion = 1
        secret.envelope = SecretEnvelopeData(
            valueNonce: [1], valueCiphertext: [2], sealedDataKey: SealedBox(encapsulatedKey: [3], ciphertext: [4]))
        _ = try first.services.secrets.saveSecret(secret, isRotation: false, session: session)

        // node-b knew nothing of them until it applied the announced changes.
        let secrets = second.services.secrets
        #expect(secrets.directory.ring(accountID: Self.accountID, name: "prod") == nil)
        #expect(second.services.applyQueuedControls() == 3)
        let ring = try #require(secrets.directory.ring(accountID: Self.accountID, name: "prod"))
        #expect(ring.ringVersion == 1 && ring.publicKey == ringKey.publicKey.rawRepresentation)
        // Tasks using the secret are accepted and routed there: the member holding the copy holds the ring ...
        #expect(secrets.ringsHeld(by: "dlg-1") == [ring.id] && secrets.ringsHeld(by: "dlg-2").isEmpty)
        let uses = try secrets.resolve([SecretUse(envName: "DB", secretName: "db")], session: session, room: 1 << 20)
        #expect(uses.map(\.ringID) == [ring.id])
        // ... and ring work is planned there: the other member waits for a copy a member online there can seal.
        #expect(secrets.plan(for: ring) == .share(waiting: ["dlg-2"]))

        // A delete on node-a reaches node-b too.
        try first.services.secrets.deleteSecret(name: "db", session: session)
        #expect(second.services.applyQueuedControls() == 1)
        #expect(throws: AdminError.self) {
            _ = try secrets.resolve([SecretUse(envName: "DB", secretName: "db")], session: session, room: 1 << 20)
        }
        // Announcements go to other nodes only.
        #expect(first.services.applyQueuedControls() == 0)
    }
}
