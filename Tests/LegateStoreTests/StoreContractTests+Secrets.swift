import LegateCore
import Testing

@testable import LegateStore

/// The store contract for key rings, sealed ring key copies, secrets and their versions, device keys and the
/// secrets a task uses.
extension StoreContractTests {
    static func ring(_ id: String, name: String, version: UInt32 = 0) -> KeyRingRecord {
        KeyRingRecord(
            id: id, accountID: "acc-1", name: name, scope: .org("eng"),
            memberRule: RingMemberRule(profile: "linux", tags: ["prod", "eu"], tokenID: "tok-1"),
            ringVersion: version, publicKey: version == 0 ? [] : Array(repeating: UInt8(version), count: 32),
            createdAt: Fixture.t0, createdBy: "admin:k", updatedAt: Fixture.t0 + Int64(version))
    }

    static func copy(_ ring: String, _ version: UInt32, _ delegate: String, byte: UInt8 = 7) -> RingKeyCopyRecord {
        RingKeyCopyRecord(
            ringID: ring, ringVersion: version, delegateID: delegate, deviceKeyFingerprint: "fp-\(delegate)",
            encapsulatedKey: Array(repeating: byte, count: 32), ciphertext: [byte, 0, 255, 1])
    }

    @Test(arguments: StoreFactory.all)
    func keyRingsAndCopiesRoundTrip(kind: StoreFactory) throws {
        try kind.withStore { store in
            let empty = Self.ring("krg-1", name: "prod")
            try store.apply([.insertAccount(Fixture.account()), .upsertKeyRing(empty)])
            #expect(try store.allKeyRings() == [empty])
            let keyed = Self.ring("krg-1", name: "prod", version: 1)
            let other = Self.ring("krg-2", name: "dev", version: 2)
            try store.apply([
                .upsertKeyRing(keyed), .upsertKeyRing(other),
                .putRingKeyCopies([Self.copy("krg-1", 1, "del-2"), Self.copy("krg-1", 1, "del-1")]),
            ])
            #expect(try store.allKeyRings() == [other, keyed])
            #expect(try store.allRingKeyCopies() == [Self.copy("krg-1", 1, "del-1"), Self.copy("krg-1", 1, "del-2")])
            // The same ring, version and delegate again replaces the copy.
            try store.apply([.putRingKeyCopies([Self.copy("krg-1", 1, "del-1", byte: 9)])])
            #expect(try store.allRingKeyCopies().first == Self.copy("krg-1", 1, "del-1", byte: 9))

            let clash = Self.ring("krg-3", name: "prod")
            #expect(throws: StoreError.self) { try store.apply([.upsertKeyRing(clash)]) }
            var orphan = Self.ring("krg-4", name: "x")
            orphan.accountID = "acc-9"
            #expect(throws: StoreError.self) { try store.apply([.upsertKeyRing(orphan)]) }
        }
    }

    @Test(arguments: StoreFactory.all)
    func secretsAndVersionsRoundTripAndKeepTheirConstraints(kind: StoreFactory) throws {
        try kind.withStore { store in
            let secret = SecretRecord(
                id: "sec-1", accountID: "acc-1", name: "db-password", ringID: "krg-1", scope: .account,
                createdAt: Fixture.t0, createdBy: "admin:k", updatedAt: Fixture.t0)
            let first = SecretVersionRecord(
                secretID: "sec-1", version: 1, ringVersion: 1, allowedTaskTypes: ["shell"], envelope: [1, 2, 3, 0, 255],
                createdAt: Fixture.t0)
            try store.apply([.insertAccount(Fixture.account()), .upsertSecret(secret), .insertSecretVersion(first)])
            #expect(try store.allSecrets() == [secret])
            #expect(try store.allSecretVersions() == [first])

            var used = secret
            used.lastUsedAt = Fixture.t0 + 50
            used.updatedAt = Fixture.t0 + 10
            let second = SecretVersionRecord(
                secretID: "sec-1", version: 2, ringVersion: 1, allowedTaskTypes: [], envelope: [9], createdAt: 10)
            try store.apply([.upsertSecret(used), .insertSecretVersion(second)])
            #expect(try store.allSecrets() == [used])
            #expect(try store.allSecretVersions() == [first, second])

            #expect(throws: StoreError.self) { try store.apply([.insertSecretVersion(first)]) }
            var missing = first
            missing.secretID = "sec-9"
            #expect(throws: StoreError.self) { try store.apply([.insertSecretVersion(missing)]) }
            var clash = secret
            clash.id = "sec-2"
            #expect(throws: StoreError.self) { try store.apply([.upsertSecret(clash)]) }
            // A failed batch leaves nothing behind.
            #expect(throws: StoreError.self) {
                try store.apply([.deleteSecret(id: "sec-1"), .deleteSecret(id: "sec-1")])
            }
            #expect(try store.allSecretVersions().count == 2)

            // A ring rotation re-seals versions in place: ring version and envelope change, nothing else.
            var resealed = first
            resealed.ringVersion = 2
            resealed.envelope = [7, 7, 7]
            try store.apply([.replaceSecretVersions([resealed])])
            #expect(try store.allSecretVersions() == [resealed, second])
            var unknown = first
            unknown.version = 9
            #expect(throws: StoreError.self) { try store.apply([.replaceSecretVersions([unknown])]) }

            try store.apply([.deleteSecret(id: "sec-1")])
            #expect(try store.allSecrets() == [])
            #expect(try store.allSecretVersions() == [])
        }
    }

    @Test(arguments: StoreFactory.all)
    func deviceKeysAndTaskSecretUsesRoundTrip(kind: StoreFactory) throws {
        try kind.withStore { store in
            var delegate = Fixture.delegate("del-1")
            delegate.devicePublicKey = Array(0..<32)
            var task = Self.task("t1")
            task.secrets = [
                TaskSecretUse(envName: "DB_PASSWORD", secretName: "db-password", secretID: "sec-1", ringID: "krg-1")
            ]
            try store.apply([
                .insertAccount(Fixture.account()), .insertToken(Fixture.token("tok-1")), .upsertDelegate(delegate),
                .insertTask(task), .insertTask(Self.task("t3", at: Fixture.t0 + 1)),
            ])
            #expect(try store.delegate(id: "del-1")?.devicePublicKey == Array(0..<32))
            #expect(try store.task(id: "t1")?.secrets == task.secrets)
            #expect(try store.task(id: "t3")?.secrets == [])
            let listed = try store.tasks(accountID: "acc-1", status: nil, within: .account, limit: 10)
            #expect(listed.map(\.id) == ["t3", "t1"])
        }
    }
}
