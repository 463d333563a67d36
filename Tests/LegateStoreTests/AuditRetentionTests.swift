import Foundation
import LegateCore
import Testing

@testable import LegateStore

/// Old audit rows go, in bounded batches, oldest first; recent ones stay.
@Suite struct AuditRetentionTests {
    static let day: Int64 = 86_400_000

    static func row(_ at: Int64, _ index: Int) -> StoreWrite {
        .appendAudit(AuditRecord(at: at, accountID: "", actor: "peer:10.0.0.\(index % 250)", action: "auth.failure",
                                 target: "", outcome: "denied", detail: "unknown token"))
    }

    @Test(arguments: StoreFactory.all)
    func deletesRowsOlderThanTheRetentionInBatches(kind: StoreFactory) throws {
        try kind.withStore { (store) throws in try Self.deletesOldRows(store) }
    }

    static func deletesOldRows(_ store: any StateStore) throws {
        let now: Int64 = 1_800_000_000_000
        // 2,500 rows 100 days old, 30 rows 89 days old, 20 rows from today.
        try store.apply((0..<2500).map { Self.row(now - 100 * Self.day + Int64($0), $0) })
        try store.apply((0..<30).map { Self.row(now - 89 * Self.day, $0) })
        try store.apply((0..<20).map { Self.row(now - Int64($0), $0) })
        let retention = AuditRetention(days: 90, batchSize: 1000, maxBatchesPerRun: 2)
        #expect(retention.cutoff(nowMilliseconds: now) == now - 90 * Self.day)
        // Bounded: two batches of 1,000 in the first run, the rest in the second, nothing in the third.
        #expect(try store.deleteExpiredAudit(retention, nowMilliseconds: now) == 2000)
        #expect(try store.deleteExpiredAudit(retention, nowMilliseconds: now) == 500)
        #expect(try store.deleteExpiredAudit(retention, nowMilliseconds: now) == 0)
        let left = try store.auditRecords(accountID: nil, limit: 10_000)
        #expect(left.count == 50)
        #expect(left.allSatisfy { $0.at >= now - 90 * Self.day })
        // Ten days later the 89-day-old rows have gone too.
        #expect(try store.deleteExpiredAudit(retention, nowMilliseconds: now + 10 * Self.day) == 30)
        #expect(try store.auditRecords(accountID: nil, limit: 10_000).count == 20)
    }

    @Test(arguments: StoreFactory.all)
    func noRetentionKeepsEverything(kind: StoreFactory) throws {
        try kind.withStore { (store) throws in try Self.keepsEverything(store) }
    }

    static func keepsEverything(_ store: any StateStore) throws {
        try store.apply([Self.row(0, 1)])
        #expect(try store.deleteExpiredAudit(AuditRetention(days: nil), nowMilliseconds: 1_800_000_000_000) == 0)
        #expect(AuditRetention(days: Int.max).cutoff(nowMilliseconds: 0) == nil)
        #expect(try store.auditRecords(accountID: nil, limit: 10).count == 1)
        #expect(AuditRetention.defaults.days == 90)
    }
}
