/// Shows a PostgreSQL connection string without its password, for errors and logs.
enum PostgreSQLAddress {
    /// `url` without a password: `postgresql://user:secret@host/db` becomes `postgresql://user@host/db`, and a
    /// `password=` parameter (URL query or key=value string) is dropped.
    static func redacted(_ url: String) -> String {
        for scheme in ["postgresql://", "postgres://"] where url.hasPrefix(scheme) {
            let rest = url.dropFirst(scheme.count)
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            var authority = String(rest[..<authorityEnd])
            if let at = authority.lastIndex(of: "@") {
                let user = authority[..<at].split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                authority = user + authority[at...]
            }
            var tail = String(rest[authorityEnd...])
            if let question = tail.firstIndex(of: "?") {
                let kept = tail[tail.index(after: question)...].split(separator: "&")
                    .filter { !$0.lowercased().hasPrefix("password=") }
                tail = String(tail[..<question]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
            }
            return scheme + authority + tail
        }
        return url.split(separator: " ").filter { !$0.lowercased().hasPrefix("password=") }.joined(separator: " ")
    }

    /// Whether a `--store` value names a PostgreSQL server rather than a SQLite file.
    static func isPostgreSQL(_ store: String) -> Bool {
        store.hasPrefix("postgresql://") || store.hasPrefix("postgres://")
    }
}

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
