extension PostgreSQLStateStore {
    /// Deletes audit rows older than the retention at `nowMilliseconds`, oldest first, in transactions of
    /// `batchSize` rows and at most `maxBatchesPerRun` of them; returns the number of rows deleted (call again
    /// later for the rest).
    public func deleteExpiredAudit(_ retention: AuditRetention, nowMilliseconds: Int64) throws(StoreError) -> Int {
        guard let cutoff = retention.cutoff(nowMilliseconds: nowMilliseconds) else { return 0 }
        let batchSize = Int64(max(1, retention.batchSize))
        var deleted = 0
        for _ in 0..<max(1, retention.maxBatchesPerRun) {
            let count = try self.write { (connection) throws(StoreError) -> Int in
                try connection.run(
                    "DELETE FROM audit WHERE sequence IN (SELECT sequence FROM audit ORDER BY sequence LIMIT ?) "
                        + "AND at < ?",
                    [.int(batchSize), .int(cutoff)], operation: "delete expired audit rows")
            }
            deleted += count
            if count == 0 { break }
        }
        return deleted
    }
}
