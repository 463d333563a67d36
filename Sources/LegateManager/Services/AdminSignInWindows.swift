import LegateCore

/// Folds successful admin sign-ins (`admin.auth` ok) into at most one row per key per window (pure: time passed
/// in). A script calling `legatectl` in a loop signs in on every call; without this its rows drown the audit.
/// The first sign-in of a key opens a window and is written as usual; later ones are counted, with their peers,
/// and written as one summary row when the window closes.
struct AdminSignInWindows {
    struct Window {
        var openedAt: Int64
        var lastAt: Int64
        var repeats: Int
        var accountID: String
        var actor: String
        var scope: String
        /// The distinct peers of the repeats, at most `maxPeers` named.
        var peers: [String]
    }

    /// How long a window stays open after its first sign-in (one hour).
    let windowMilliseconds: Int64
    /// Most windows open at once; the oldest is summarised to make room (keys are few, this only bounds memory).
    let maxKeys: Int
    static let maxPeers = 8
    private var windows: [String: Window] = [:]

    init(windowMilliseconds: Int64 = 3_600_000, maxKeys: Int = 10_000) {
        self.windowMilliseconds = max(1, windowMilliseconds)
        self.maxKeys = max(1, maxKeys)
    }

    /// A sign-in of `keyID` from `peer`, whose own row is `row`; returns the rows to write now (`row` when it
    /// opens a window, plus summaries of windows it closed).
    mutating func signIn(keyID: String, peer: String, scope: String, row: AuditRecord) -> [AuditRecord] {
        let at = row.at
        var rows: [AuditRecord] = []
        if var window = self.windows[keyID] {
            if at < window.openedAt + self.windowMilliseconds {
                window.repeats += 1
                window.lastAt = max(window.lastAt, at)
                if window.peers.count < Self.maxPeers, !window.peers.contains(peer) { window.peers.append(peer) }
                self.windows[keyID] = window
                return rows
            }
            self.windows[keyID] = nil
            if let summary = Self.summary(keyID, window, self.windowMilliseconds) { rows.append(summary) }
        }
        if self.windows.count >= self.maxKeys,
            let oldest = self.windows.min(by: { $0.value.openedAt < $1.value.openedAt })
        {
            self.windows[oldest.key] = nil
            if let summary = Self.summary(oldest.key, oldest.value, self.windowMilliseconds) { rows.append(summary) }
        }
        self.windows[keyID] = Window(
            openedAt: at, lastAt: at, repeats: 0, accountID: row.accountID, actor: row.actor, scope: scope, peers: [])
        rows.append(row)
        return rows
    }

    /// Closes the windows opened at least one window length before `now`; returns their summaries.
    mutating func flush(now: Int64) -> [AuditRecord] {
        let due = self.windows.filter { $0.value.openedAt + self.windowMilliseconds <= now }
        var rows: [AuditRecord] = []
        for (keyID, window) in due.sorted(by: { $0.value.openedAt < $1.value.openedAt }) {
            self.windows[keyID] = nil
            if let summary = Self.summary(keyID, window, self.windowMilliseconds) { rows.append(summary) }
        }
        return rows
    }

    private static func summary(_ keyID: String, _ window: Window, _ length: Int64) -> AuditRecord? {
        guard window.repeats > 0 else { return nil }
        return AuditRecord(
            at: window.lastAt, accountID: window.accountID, actor: window.actor, action: "admin.auth", target: keyID,
            outcome: "ok",
            detail: "signed in \(window.repeats) more times within \(length / 1000) s of \(window.openedAt), "
                + "last at \(window.lastAt); peers=\(window.peers.joined(separator: ",")) scope=\(window.scope)")
    }
}
