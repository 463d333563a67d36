import LegateCore
import Testing

@testable import LegateStore

/// Admin API keys (schema 2) in both stores.
@Suite struct AdminKeyStoreTests {
    func key(_ id: String, account: String = "acc-1", at: Int64 = 0) -> AdminKeyRecord {
        AdminKeyRecord(
            id: id, accountID: account, name: "key \(id)", scope: "account",
            secretHash: [UInt8](repeating: 7, count: 32), permissions: ["delegate:view", "account:admin"],
            createdAt: at, createdBy: "system")
    }

    @Test(arguments: StoreKind.allCases)
    func adminKeysRoundTripAndUpdate(kind: StoreKind) throws {
        try kind.withStore { (store) throws in
            let first = self.key("k1")
            let second = self.key("k2", at: 5)
            try store.apply([.insertAccount(Fixture.account()), .upsertAdminKey(second), .upsertAdminKey(first)])
            #expect(try store.adminKey(id: "k1") == first)
            #expect(try store.adminKey(id: "missing") == nil)
            #expect(try store.adminKeys(accountID: "acc-1") == [first, second])
            #expect(try store.adminKeys(accountID: "acc-2").isEmpty)
            var revoked = first
            revoked.revokedAt = 9
            try store.apply([.upsertAdminKey(revoked)])
            #expect(try store.adminKey(id: "k1") == revoked)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func adminKeyOfAnUnknownAccountIsRefused(kind: StoreKind) throws {
        try kind.withStore { (store) throws in
            #expect(throws: StoreError.self) { try store.apply([.upsertAdminKey(self.key("k1", account: "nope"))]) }
            #expect(try store.adminKey(id: "k1") == nil)
        }
    }
}
