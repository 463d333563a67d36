import LegateCore
import LegateManager
import LegateStore
import LegateTestSupport
import Testing

/// The group-committing writer under store faults: a full disk is reported to the writes it hit, a transient
/// failure is retried without losing anything, and one bad batch never sinks the batches committed with it.
@Suite struct StoreWriterTests {
    typealias Outcome = (label: String, error: StoreError?)

    func account(_ id: String) -> StoreWrite {
        .insertAccount(AccountRecord(id: id, name: id, createdAt: 1))
    }

    func submit(_ writer: StoreWriter, _ label: String, _ writes: [StoreWrite], into outcomes: Mailbox<Outcome>) {
        writer.submit(writes) { error in outcomes.put((label, error)) }
    }

    @Test func fullDiskIsReportedToEveryWriteItHitsAndNothingIsWritten() throws {
        let inner = InMemoryStateStore()
        let store = FaultInjectingStore(
            wrapping: inner, fault: .init(failingApply: 1, error: .diskFull(path: "legate.db"), isTransient: false))
        let writer = StoreWriter(store: store, log: DiscardingLogSink())
        let outcomes = Mailbox<Outcome>()
        self.submit(writer, "a", [self.account("acc_a")], into: outcomes)
        self.submit(writer, "b", [self.account("acc_b")], into: outcomes)
        #expect(outcomes.waitForCount(2) { _ in true })
        #expect(outcomes.all.allSatisfy { $0.error == .diskFull(path: "legate.db") })
        #expect(try inner.accounts().isEmpty)
    }

    @Test func transientFailureIsRetriedAndLosesNothing() throws {
        let inner = InMemoryStateStore()
        let store = FaultInjectingStore(
            wrapping: inner, fault: .init(failingApply: 1, error: .busy(path: "legate.db"), isTransient: true))
        let writer = StoreWriter(store: store, log: DiscardingLogSink())
        let outcomes = Mailbox<Outcome>()
        self.submit(writer, "a", [self.account("acc_a")], into: outcomes)
        self.submit(writer, "b", [self.account("acc_b")], into: outcomes)
        #expect(outcomes.waitForCount(2) { _ in true })
        #expect(outcomes.all.allSatisfy { $0.error == nil })
        #expect(try Set(inner.accounts().map(\.id)) == ["acc_a", "acc_b"])
    }

    @Test func aBadBatchFailsAloneWhateverItWasGroupedWith() throws {
        let inner = InMemoryStateStore()
        let writer = StoreWriter(store: inner, log: DiscardingLogSink())
        let outcomes = Mailbox<Outcome>()
        let orphan = TokenRecord(
            id: "tok", accountID: "acc_missing", name: "t", scope: "account", sealedValue: [], status: .active,
            createdAt: 1, createdBy: "test")
        for round in 0..<20 {
            self.submit(writer, "good\(round)", [self.account("acc_\(round)")], into: outcomes)
            self.submit(writer, "bad\(round)", [.insertToken(orphan)], into: outcomes)
        }
        #expect(outcomes.waitForCount(40) { _ in true })
        for outcome in outcomes.all {
            if outcome.label.hasPrefix("good") {
                #expect(outcome.error == nil, "\(outcome.label) was sunk by a bad neighbour")
            } else {
                guard case .constraint = outcome.error else {
                    Issue.record("\(outcome.label): expected a constraint error, got \(String(describing: outcome.error))")
                    continue
                }
            }
        }
        #expect(try inner.accounts().count == 20)
        #expect(try inner.allTokens().isEmpty)
    }
}
