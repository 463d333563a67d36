public import LegateCore

/// Folds repeated unauthenticated failures into few audit rows (pure: no clock, no I/O; time is passed in).
///
/// The first failure of an (address, action, reason) key is written as usual and opens a window; later ones in
/// the window are only counted, and written as one summary row when the window closes (`flush(now:)`) or the
/// key is evicted to keep at most `maxKeys` windows. A peer failing at the rate limit costs one row per window
/// instead of one per attempt.
public struct AuditFailureAggregator: Sendable {
    /// What identifies repeated failures.
    public struct Key: Hashable, Sendable {
        /// Peer address (host only, no port).
        public var address: String
        /// Audit action, e.g. `auth.failure`.
        public var action: String
        /// Coarse reason, e.g. `unknown token`; never a secret.
        public var reason: String

        /// Builds a key.
        public init(address: String, action: String, reason: String) {
            self.address = address
            self.action = action
            self.reason = reason
        }
    }

    /// Window length and key bound.
    public struct Configuration: Sendable, Equatable {
        /// Milliseconds a window stays open after its first failure. Default 60,000 (one minute).
        public var windowMilliseconds: Int64
        /// Most keys with an open window; the oldest is summarised and dropped to make room. Default 10,000.
        public var maxKeys: Int

        /// One-minute windows, at most 10,000 keys.
        public static let defaults = Configuration(windowMilliseconds: 60_000, maxKeys: 10_000)

        /// Builds a configuration; arguments default to `defaults`.
        public init(windowMilliseconds: Int64 = 60_000, maxKeys: Int = 10_000) {
            self.windowMilliseconds = windowMilliseconds
            self.maxKeys = maxKeys
        }
    }

    struct Window {
        var openedAt: Int64
        var lastAt: Int64
        var suppressed: Int
        var accountID: String
    }

    /// The configuration in force.
    public let configuration: Configuration
    private var windows: [Key: Window] = [:]
    /// Keys in the order their windows opened (the front is the oldest); entries whose window was replaced
    /// since are skipped when they reach the front.
    private var order: [(key: Key, openedAt: Int64)] = []
    private var head = 0

    /// An aggregator with no open window.
    public init(configuration: Configuration = .defaults) {
        self.configuration = Configuration(
            windowMilliseconds: max(1, configuration.windowMilliseconds), maxKeys: max(1, configuration.maxKeys))
    }

    /// Keys with an open window.
    public var openWindows: Int { self.windows.count }

    /// A failure at `at` (Unix milliseconds); returns the audit rows to write now: the failure itself when it
    /// opens a window, plus the summaries of windows closed or evicted to make room.
    public mutating func failure(_ key: Key, accountID: String = "", at: Int64) -> [AuditRecord] {
        var rows: [AuditRecord] = []
        if var window = self.windows[key] {
            if at < window.openedAt + self.configuration.windowMilliseconds {
                window.suppressed += 1
                window.lastAt = max(window.lastAt, at)
                self.windows[key] = window
                return rows
            }
            // The window has passed without a flush: summarise it and open a new one below.
            self.windows[key] = nil
            if let summary = self.summary(key, window) { rows.append(summary) }
        }
        while self.windows.count >= self.configuration.maxKeys, let (oldKey, oldWindow) = self.popOldest() {
            if let summary = self.summary(oldKey, oldWindow) { rows.append(summary) }
        }
        self.windows[key] = Window(openedAt: at, lastAt: at, suppressed: 0, accountID: accountID)
        self.order.append((key, at))
        self.compactIfNeeded()
        rows.append(
            AuditRecord(at: at, accountID: accountID, actor: "peer:\(key.address)", action: key.action, target: "",
                        outcome: "denied", detail: key.reason))
        return rows
    }

    /// Closes every window opened at least one window length before `now`; returns their summary rows.
    public mutating func flush(now: Int64) -> [AuditRecord] {
        var rows: [AuditRecord] = []
        while self.head < self.order.count {
            let front = self.order[self.head]
            guard let window = self.windows[front.key], window.openedAt == front.openedAt else {
                self.head += 1  // replaced or already summarised
                continue
            }
            guard window.openedAt + self.configuration.windowMilliseconds <= now else { break }
            self.head += 1
            self.windows[front.key] = nil
            if let summary = self.summary(front.key, window) { rows.append(summary) }
        }
        self.compactIfNeeded()
        return rows
    }

    /// Closes every window (at shutdown); returns their summary rows.
    public mutating func flushAll() -> [AuditRecord] {
        self.flush(now: .max)
    }

    private mutating func popOldest() -> (Key, Window)? {
        while self.head < self.order.count {
            let front = self.order[self.head]
            self.head += 1
            if let window = self.windows[front.key], window.openedAt == front.openedAt {
                self.windows[front.key] = nil
                return (front.key, window)
            }
        }
        return nil
    }

    /// Drops consumed and stale entries once they are half the queue, so it stays within twice `maxKeys`.
    private mutating func compactIfNeeded() {
        let consumedHalf = self.head > 64 && self.head * 2 >= self.order.count
        guard consumedHalf || self.order.count > 2 * self.configuration.maxKeys + 64 else { return }
        self.order = self.order[self.head...].filter { self.windows[$0.key]?.openedAt == $0.openedAt }
        self.head = 0
    }

    /// The row standing for the failures counted after the first; nil when there were none.
    private func summary(_ key: Key, _ window: Window) -> AuditRecord? {
        guard window.suppressed > 0 else { return nil }
        let seconds = self.configuration.windowMilliseconds / 1000
        return AuditRecord(
            at: window.lastAt, accountID: window.accountID, actor: "peer:\(key.address)", action: key.action,
            target: "", outcome: "denied",
            detail: "\(key.reason) (repeated \(window.suppressed) more times within \(seconds) s of the first, "
                + "at \(window.openedAt); last at \(window.lastAt))")
    }
}
