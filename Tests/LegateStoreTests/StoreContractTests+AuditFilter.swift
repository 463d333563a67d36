import LegateCore
import Testing

@testable import LegateStore

/// The store contract for filtered audit listings: both backends select the same rows, newest first.
extension StoreContractTests {
    func auditRow(_ action: String, actor: String, at: Int64, account: String = "acc-1") -> AuditRecord {
        AuditRecord(
            at: at, accountID: account, actor: actor, action: action, target: "t", outcome: "ok", detail: "")
    }

    @Test(arguments: StoreFactory.all)
    func auditFiltersByActionActorAndTimeWindow(kind: StoreFactory) throws {
        try kind.withStore { (store) throws in
            try store.apply([.insertAccount(Fixture.account())])
            try store.apply([
                .appendAudit(self.auditRow("token.create", actor: "key:a", at: 100)),
                .appendAudit(self.auditRow("token.revoke", actor: "key:b", at: 200)),
                .appendAudit(self.auditRow("delegate.approve", actor: "key:a", at: 300)),
                .appendAudit(self.auditRow("token_x", actor: "key:a", at: 350)),
                .appendAudit(self.auditRow("token.create", actor: "key:b", at: 400)),
            ])
            func actions(_ filter: AuditFilter, limit: Int = 10) throws -> [String] {
                try store.auditRecords(accountID: "acc-1", filter: filter, limit: limit).map { "\($0.action)@\($0.at)" }
            }
            #expect(try actions(AuditFilter()).count == 5)
            #expect(try actions(AuditFilter(action: "token.create")) == ["token.create@400", "token.create@100"])
            // A trailing * is a prefix; the _ in token_x is a plain character, not a wildcard.
            #expect(try actions(AuditFilter(action: "token.*")) == ["token.create@400", "token.revoke@200", "token.create@100"])
            #expect(try actions(AuditFilter(action: "token_*")) == ["token_x@350"])
            #expect(try actions(AuditFilter(actor: "key:a")) == ["token_x@350", "delegate.approve@300", "token.create@100"])
            // since inclusive, until exclusive.
            #expect(try actions(AuditFilter(since: 200, until: 350)) == ["delegate.approve@300", "token.revoke@200"])
            #expect(try actions(AuditFilter(action: "token.*", actor: "key:b", since: 300)) == ["token.create@400"])
            #expect(try actions(AuditFilter(actor: "key:a"), limit: 1) == ["token_x@350"])
            #expect(try actions(AuditFilter(actor: "nobody")).isEmpty)
            #expect(try store.auditRecords(accountID: "acc-2", filter: AuditFilter(action: "token.*"), limit: 10).isEmpty)
        }
    }
}
