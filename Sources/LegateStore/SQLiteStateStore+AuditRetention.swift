/// How long audit rows are kept, and how deleting old ones is paced.
public struct AuditRetention: Sendable, Equatable {
    /// Rows older than this many days are deleted; nil keeps every row. Default 90 days.
    public var days: Int?
    /// Rows deleted per transaction, so writers wait at most one short batch (default 1,000).
    public var batchSize: Int
    /// Batches per `deleteExpiredAudit` call, so one call is bounded too (default 100: 100,000 rows).
    public var maxBatchesPerRun: Int

    /// 90 days, 1,000 rows per batch, at most 100 batches per run.
    public static let defaults = AuditRetention(days: 90, batchSize: 1000, maxBatchesPerRun: 100)

    /// Builds a retention setting; every argument defaults to `defaults`.
    public init(days: Int? = 90, batchSize: Int = 1000, maxBatchesPerRun: Int = 100) {
        self.days = days
        self.batchSize = batchSize
        self.maxBatchesPerRun = maxBatchesPerRun
    }

    /// The oldest `at` (Unix milliseconds) kept at `nowMilliseconds`; nil when rows are kept forever.
    public func cutoff(nowMilliseconds: Int64) -> Int64? {
        guard let days, days >= 0 else { return nil }
        let (span, overflow) = Int64(days).multipliedReportingOverflow(by: 86_400_000)
        return overflow ? nil : nowMilliseconds - span
    }
}

extension SQLiteStateStore {
    /// Deletes audit rows older than the retention at `nowMilliseconds`, oldest first, in transactions of
    /// `batchSize` rows and at most `maxBatchesPerRun` of them; returns the number of rows deleted (call again
    /// later for the rest). Rows are taken in insertion order, so no index on `at` is needed: each batch reads
    /// only the oldest rows, and a run stops at the first batch with nothing old enough.
    public func deleteExpiredAudit(_ retention: AuditRetention, nowMilliseconds: Int64) throws(StoreError) -> Int {
        guard let cutoff = retention.cutoff(nowMilliseconds: nowMilliseconds) else { return 0 }
        let batchSize = Int64(max(1, retention.batchSize))
        var deleted = 0
        for _ in 0..<max(1, retention.maxBatchesPerRun) {
            let count = try self.read { (connection) throws(StoreError) -> Int in
                try connection.transaction { () throws(StoreError) -> Int in
                    try connection.run(
                        "DELETE FROM audit WHERE sequence IN (SELECT sequence FROM audit ORDER BY sequence LIMIT ?) "
                            + "AND at < ?",
                        [.int(batchSize), .int(cutoff)], operation: "delete expired audit rows")
                }
            }
            deleted += count
            if count == 0 { break }
        }
        return deleted
    }
}
