import LegateCore
import LegateStore
import Testing

/// Repeated failures from one address cost one row when they start and one summary when the window closes.
@Suite struct AuditFailureAggregatorTests {
    static let key = AuditFailureAggregator.Key(address: "10.0.0.1", action: "auth.failure", reason: "unknown token")

    @Test func firstIsRecordedRestAreSummarisedWhenTheWindowCloses() {
        var aggregator = AuditFailureAggregator(configuration: .init(windowMilliseconds: 60_000, maxKeys: 10))
        let first = aggregator.failure(Self.key, at: 1000)
        #expect(first == [AuditRecord(at: 1000, accountID: "", actor: "peer:10.0.0.1", action: "auth.failure",
                                      target: "", outcome: "denied", detail: "unknown token")])
        for offset in 1...500 { #expect(aggregator.failure(Self.key, at: 1000 + Int64(offset) * 100).isEmpty) }
        #expect(aggregator.flush(now: 60_999).isEmpty)
        let summary = aggregator.flush(now: 61_000)
        #expect(summary.count == 1)
        #expect(summary.first?.at == 51_000)
        #expect(summary.first?.detail.hasPrefix("unknown token (repeated 500 more times") == true)
        #expect(aggregator.openWindows == 0)
        // The next failure opens a new window and is recorded again.
        #expect(aggregator.failure(Self.key, at: 70_000).count == 1)
    }

    @Test func aLoneFailureLeavesNoSummary() {
        var aggregator = AuditFailureAggregator()
        #expect(aggregator.failure(Self.key, at: 0).count == 1)
        #expect(aggregator.flushAll().isEmpty)
    }

    @Test func keysAreSeparate() {
        var aggregator = AuditFailureAggregator()
        let other = AuditFailureAggregator.Key(address: "10.0.0.2", action: "auth.failure", reason: "unknown token")
        let otherReason = AuditFailureAggregator.Key(address: "10.0.0.1", action: "auth.failure", reason: "expired")
        #expect(aggregator.failure(Self.key, at: 0).count == 1)
        #expect(aggregator.failure(other, at: 1).count == 1)
        #expect(aggregator.failure(otherReason, at: 2).count == 1)
        #expect(aggregator.failure(Self.key, at: 3).isEmpty)
        #expect(aggregator.openWindows == 3)
    }

    @Test func keysAreBoundedAndTheOldestIsSummarisedWhenEvicted() {
        var aggregator = AuditFailureAggregator(configuration: .init(windowMilliseconds: 60_000, maxKeys: 3))
        for index in 0..<3 {
            let key = AuditFailureAggregator.Key(address: "10.0.0.\(index)", action: "auth.failure", reason: "r")
            #expect(aggregator.failure(key, at: Int64(index)).count == 1)
            #expect(aggregator.failure(key, at: Int64(index) + 10).isEmpty)
        }
        let newcomer = AuditFailureAggregator.Key(address: "10.0.0.9", action: "auth.failure", reason: "r")
        let rows = aggregator.failure(newcomer, at: 100)
        #expect(rows.count == 2)
        #expect(rows.first?.actor == "peer:10.0.0.0" && rows.first?.detail.contains("repeated 1 more") == true)
        #expect(rows.last?.actor == "peer:10.0.0.9")
        #expect(aggregator.openWindows == 3)
        // A storm of distinct addresses never holds more than maxKeys windows.
        for index in 0..<10_000 {
            let key = AuditFailureAggregator.Key(address: "172.16.\(index / 256).\(index % 256)", action: "a", reason: "r")
            _ = aggregator.failure(key, at: 200 + Int64(index))
        }
        #expect(aggregator.openWindows == 3)
    }

    @Test func aWindowPassedWithoutFlushIsSummarisedOnTheNextFailure() {
        var aggregator = AuditFailureAggregator(configuration: .init(windowMilliseconds: 1000, maxKeys: 2))
        for round in 0..<1000 {
            let start = Int64(round) * 2000
            #expect(aggregator.failure(Self.key, at: start).count == (round == 0 ? 1 : 2))
            #expect(aggregator.failure(Self.key, at: start + 1).isEmpty)
        }
        #expect(aggregator.openWindows == 1)
        #expect(aggregator.flushAll().count == 1)
    }
}
