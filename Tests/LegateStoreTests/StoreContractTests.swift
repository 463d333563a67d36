import LegateCore
import Testing

@testable import LegateStore

/// The store contract: what every `StateStore` backend must do, run against each factory in `StoreFactory.all`.
/// The task, profile and admin-key parts are in the extensions beside this file.
@Suite struct StoreContractTests {
    @Test(arguments: StoreFactory.all)
    func roundTripsEveryRecord(kind: StoreFactory) throws {
        try kind.withStore { store in
            let account = Fixture.account()
            let active = Fixture.token("tok-1")
            var emptySeal = Fixture.token("tok-2", status: .revoked, at: 1)
            emptySeal.sealedValue = []
            var delegate = Fixture.delegate("del-1")
            delegate.tags = []
            let other = Fixture.delegate("del-2", at: 3)
            try store.apply([
                .insertAccount(account), .insertToken(active), .insertToken(emptySeal), .upsertDelegate(delegate),
                .upsertDelegate(other), .appendAudit(Fixture.audit("token.create")),
                .appendAudit(Fixture.audit("auth.failure", account: "", at: 1)), .setMetadata(key: "k", value: "v1"),
            ])
            #expect(try store.account(id: "acc-1") == account)
            #expect(try store.accounts() == [account])
            #expect(try store.token(id: "tok-1") == active)
            #expect(try store.token(id: "tok-2") == emptySeal)
            #expect(try store.token(id: "nope") == nil)
            #expect(try store.tokens(accountID: "acc-1") == [active, emptySeal])
            #expect(try store.allTokens() == [active, emptySeal])
            #expect(try store.delegate(id: "del-1") == delegate)
            #expect(try store.delegate(accountID: "acc-1", instanceID: "inst-del-2") == other)
            #expect(try store.delegate(accountID: "acc-2", instanceID: "inst-del-2") == nil)
            #expect(try store.delegates(accountID: "acc-1") == [delegate, other])
            #expect(try store.allDelegates() == [delegate, other])
            #expect(try store.metadata(key: "k") == "v1")
            #expect(try store.metadata(key: "missing") == nil)

            let audit = try store.auditRecords(accountID: nil, limit: 10)
            #expect(audit.map(\.action) == ["auth.failure", "token.create"])
            #expect(audit.map(\.sequence) == [2, 1])
            #expect(try store.auditRecords(accountID: "acc-1", limit: 10).map(\.action) == ["token.create"])
            #expect(try store.auditRecords(accountID: nil, limit: 1).count == 1)
            #expect(try store.auditRecords(accountID: nil, limit: 0).isEmpty)
            var expectedAudit = Fixture.audit("token.create")
            expectedAudit.sequence = 1
            #expect(audit.last == expectedAudit)
        }
    }

    @Test(arguments: StoreFactory.all)
    func updatesDeletesAndHeartbeats(kind: StoreFactory) throws {
        try kind.withStore { store in
            try store.apply([.insertAccount(Fixture.account()), .insertToken(Fixture.token("tok-1"))])
            try store.apply([.upsertDelegate(Fixture.delegate("del-1")), .setMetadata(key: "k", value: "v1")])
            var revoked = Fixture.token("tok-1")
            revoked.status = .revoked
            revoked.revokedAt = Fixture.t0 + 9
            revoked.lastUsedAt = Fixture.t0 + 8
            var moved = Fixture.delegate("del-1")
            moved.status = .active
            moved.tags = ["arm"]
            try store.apply([
                .updateToken(revoked), .upsertDelegate(moved), .setMetadata(key: "k", value: "v2"),
                .recordHeartbeats([
                    HeartbeatMark(delegateID: "del-1", at: Fixture.t0 + 42),
                    HeartbeatMark(delegateID: "gone", at: Fixture.t0 + 43),
                ]),
            ])
            moved.lastHeartbeatAt = Fixture.t0 + 42
            #expect(try store.token(id: "tok-1") == revoked)
            #expect(try store.delegate(id: "del-1") == moved)
            #expect(try store.metadata(key: "k") == "v2")
            try store.apply([.deleteToken(id: "tok-1"), .deleteDelegate(id: "del-1")])
            #expect(try store.allTokens().isEmpty)
            #expect(try store.allDelegates().isEmpty)
        }
    }

    @Test(arguments: StoreFactory.all)
    func refusesBrokenWritesWithClearText(kind: StoreFactory) throws {
        try kind.withStore { store in
            try store.apply([.insertAccount(Fixture.account()), .insertToken(Fixture.token("tok-1"))])
            let before = try Snapshot(store)
            let cases: [(StoreWrite, String?)] = [
                (.updateToken(Fixture.token("tok-9")), ConstraintText.missingToken("tok-9")),
                (.deleteToken(id: "tok-9"), ConstraintText.missingToken("tok-9")),
                (.deleteToken(id: "tok-1"), ConstraintText.activeToken("tok-1")),
                (.deleteDelegate(id: "del-9"), ConstraintText.missingDelegate("del-9")),
                (.insertAccount(Fixture.account()), nil),
                (.insertToken(Fixture.token("tok-1")), nil),
                (.insertToken(Fixture.token("tok-2", account: "acc-9")), nil),
                (.upsertDelegate(Fixture.delegate("del-1", account: "acc-9")), nil),
            ]
            for (write, text) in cases {
                let error = #expect(throws: StoreError.self) { try store.apply([write]) }
                guard case .constraint(let what) = error else {
                    Issue.record("expected .constraint for \(write), got \(String(describing: error))")
                    continue
                }
                if let text { #expect(what == text) }
                #expect(error?.description.contains("nothing in the batch was written") == true)
            }
            try store.apply([.upsertDelegate(Fixture.delegate("del-1", instance: "same"))])
            #expect(throws: StoreError.self) {
                try store.apply([.upsertDelegate(Fixture.delegate("del-2", instance: "same"))])
            }
            #expect(try store.allDelegates().count == 1)
            #expect(try Snapshot(store).tokens == before.tokens)
        }
    }

    @Test(arguments: StoreFactory.all)
    func batchIsAllOrNothing(kind: StoreFactory) throws {
        try kind.withStore { store in
            try store.apply([.insertAccount(Fixture.account()), .appendAudit(Fixture.audit("first"))])
            let before = try Snapshot(store)
            let third: [StoreWrite] = [
                .insertToken(Fixture.token("tok-1")), .deleteToken(id: "tok-1"), .updateToken(Fixture.token("x")),
                .insertAccount(Fixture.account()),
            ]
            for failing in third {
                // The third write of each batch breaks a rule; the first two and the last must vanish with it.
                #expect(throws: StoreError.self) {
                    try store.apply([
                        .appendAudit(Fixture.audit("lost")), .insertToken(Fixture.token("tok-1")), failing,
                        .setMetadata(key: "k", value: "lost"),
                    ])
                }
                #expect(try Snapshot(store) == before)
            }
            // The sequence of a rolled-back audit row is not consumed.
            try store.apply([.appendAudit(Fixture.audit("second"))])
            #expect(try store.auditRecords(accountID: nil, limit: 5).map(\.sequence) == [2, 1])
        }
    }
}
