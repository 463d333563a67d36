public import LegateCore

/// Which audit rows a listing wants; every condition left nil matches every row.
public struct AuditFilter: Sendable, Equatable {
    /// An exact action (`token.create`), or a prefix when it ends in `*` (`token.*`).
    public var action: String?
    /// An exact actor.
    public var actor: String?
    /// Rows at or after this time (Unix milliseconds).
    public var since: Int64?
    /// Rows before this time (Unix milliseconds).
    public var until: Int64?

    /// A filter with the given conditions (none: every row).
    public init(action: String? = nil, actor: String? = nil, since: Int64? = nil, until: Int64? = nil) {
        self.action = action
        self.actor = actor
        self.since = since
        self.until = until
    }

    /// The action prefix when `action` ends in `*`.
    var actionPrefix: String? {
        guard let action, action.hasSuffix("*") else { return nil }
        return String(action.dropLast())
    }

    /// Whether `record` passes every condition (the in-memory store's rule; the SQLite store's SQL says the same).
    public func matches(_ record: AuditRecord) -> Bool {
        if let prefix = self.actionPrefix {
            guard record.action.hasPrefix(prefix) else { return false }
        } else if let action, record.action != action {
            return false
        }
        if let actor, record.actor != actor { return false }
        if let since, record.at < since { return false }
        if let until, record.at >= until { return false }
        return true
    }
}
