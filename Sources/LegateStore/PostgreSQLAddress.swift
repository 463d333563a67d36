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
}
