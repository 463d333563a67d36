import LegateCore
import Testing

@testable import LegateStore

/// The store contract for admin API keys.
extension StoreContractTests {
    func key(_ id: String, account: String = "acc-1", at: Int64 = 0) -> AdminKeyRecord {
        AdminKeyRecord(
            id: id, accountID: account, name: "key \(id)", scope: "account",
            secretHash: [UInt8](repeating: 7, count: 32), permissions: ["delegate:view", "account:admin"],
            createdAt: at, createdBy: "system")
    }

    @Test(arguments: StoreFactory.all)
    func adminKeysRoundTripAndUpdate(kind: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func adminKeyOfAnUnknownAccountIsRefused(kind: StoreFactory) throws {
        try kind.withStore { (store) throws in
            #expect(throws: StoreError.self) { try store.apply([.upsertAdminKey(self.key("k1", account: "nope"))]) }
            #expect(try store.adminKey(id: "k1") == nil)
        }
    }
}
