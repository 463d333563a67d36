import LegateCore
import Testing

@testable import LegateStore

/// Fail the 1st, 2nd, ... Nth apply, transient and persistent, until no fault is hit.
@Suite struct FaultInjectionTests {
    /// A manager-like sequence of batches.
    static let scenario: [[StoreWrite]] = {
        var revoked = Fixture.token("tok-1")
        revoked.status = .revoked
        revoked.revokedAt = Fixture.t0 + 50
        var active = Fixture.delegate("del-1")
        active.status = .active
        return [
            [.insertAccount(Fixture.account()), .insertToken(Fixture.token("tok-1")),
             .appendAudit(Fixture.audit("account.create"))],
            [.upsertDelegate(Fixture.delegate("del-1")), .appendAudit(Fixture.audit("delegate.register"))],
            [.upsertDelegate(active), .appendAudit(Fixture.audit("delegate.approve"))],
            [.recordHeartbeats([HeartbeatMark(delegateID: "del-1", at: Fixture.t0 + 40)])],
            [.updateToken(revoked), .appendAudit(Fixture.audit("token.revoke"))],
            [.deleteDelegate(id: "del-1"), .deleteToken(id: "tok-1"), .appendAudit(Fixture.audit("token.delete"))],
            [.setMetadata(key: "k", value: "done")],
        ]
    }()

    static func makeStore(_ kind: StoreFactory, _ directory: TemporaryDirectory, trial: Int) throws -> any StateStore {
        try kind.open(directory.file("trial-\(trial).db"))
    }

    /// Snapshots after 0, 1, ... all batches of a clean run.
    static func cleanSnapshots(_ kind: StoreFactory, _ directory: TemporaryDirectory) throws -> [Snapshot] {
        let store = try Self.makeStore(kind, directory, trial: 0)
        var snapshots = [try Snapshot(store)]
        for batch in Self.scenario {
            try store.apply(batch)
            snapshots.append(try Snapshot(store))
        }
        return snapshots
    }

    static func checkInvariants(_ store: any StateStore) throws {
        let accounts = Set(try store.accounts().map(\.id))
        for token in try store.allTokens() { #expect(accounts.contains(token.accountID)) }
        for delegate in try store.allDelegates() { #expect(accounts.contains(delegate.accountID)) }
        let sequences = try store.auditRecords(accountID: nil, limit: 1000).map(\.sequence)
        #expect(sequences == (0..<sequences.count).reversed().map { Int64($0 + 1) })
    }

    @Test(arguments: StoreFactory.all, [true, false])
    func failingTheNthApplyLeavesAConsistentStore(kind: StoreFactory, transient: Bool) throws {
        let directory = try TemporaryDirectory()
        let clean = try Self.cleanSnapshots(kind, directory)
        let injected = transient ? StoreError.diskFull(path: "x") : StoreError.ioError(path: "x", reason: "EIO")
        var trial = 1
        while trial <= 50 {
            let store = FaultInjectingStore(
                wrapping: try Self.makeStore(kind, directory, trial: trial),
                fault: .init(failingApply: trial, error: injected, isTransient: transient))
            var failures = 0
            for batch in Self.scenario {
                do {
                    try store.apply(batch)
                } catch {
                    failures += 1
                    #expect(error == injected)
                    // A manager retries a transient failure once; the retry must land cleanly.
                    if transient { try store.apply(batch) }
                }
            }
            try Self.checkInvariants(store)
            if store.faultsInjected == 0 {
                #expect(try Snapshot(store) == clean.last, "trial \(trial)")
                break
            }
            if transient {
                // The failed apply wrote nothing, so the retried run ends exactly like the clean one.
                #expect(failures == 1)
                #expect(try Snapshot(store) == clean.last, "trial \(trial)")
            } else {
                // Every apply from the Nth on failed: the store holds exactly the first N-1 batches.
                #expect(try Snapshot(store) == clean[trial - 1], "trial \(trial)")
            }
            trial += 1
        }
        #expect(trial == Self.scenario.count + 1)
    }

    @Test func healingStopsTheFaults() throws {
        let store = FaultInjectingStore(
            wrapping: InMemoryStateStore(), fault: .init(failingApply: 1, error: .busy(path: "x"), isTransient: false))
        #expect(throws: StoreError.busy(path: "x")) { try store.apply(Self.scenario[0]) }
        #expect(throws: StoreError.busy(path: "x")) { try store.apply(Self.scenario[0]) }
        store.setFault(nil)
        try store.apply(Self.scenario[0])
        #expect(try store.accounts().count == 1)
        #expect(store.applyCalls == 1)
    }
}
