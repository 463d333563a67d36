import LegateCore
import LegateNet
import LegateStore
import LegateWire

/// Turns typed audit events into rows: recorded without waiting (`record`), or returned for a caller to write in
/// the same transaction as the change they describe (`row`); also lists the audit for the admin API.
final class AuditService: Sendable {
    private let store: any StateStore
    private let writer: StoreWriter
    private let clock: any ServiceClock

    /// Creates the service over `store` (reads) and `writer` (appends).
    init(store: any StateStore, writer: StoreWriter, clock: any ServiceClock) {
        self.store = store
        self.writer = writer
        self.clock = clock
    }

    /// The row for `event`, stamped now, to write together with the change it describes.
    func row(_ event: AuditEvent, accountID: String, actor: String, at: Int64? = nil) -> AuditRecord {
        event.record(accountID: accountID, actor: actor, at: at ?? self.clock.unixMilliseconds())
    }

    /// Records `event` without waiting for it (an audit of a refusal must not slow the refusal).
    func record(_ event: AuditEvent, accountID: String, actor: String) {
        self.writer.submit([.appendAudit(self.row(event, accountID: accountID, actor: actor))])
    }

    /// Records `event` for an admin session's account and actor.
    func record(_ event: AuditEvent, session: AdminSession) {
        self.record(event, accountID: session.accountID, actor: session.actor)
    }

    /// Records a row the connection layer words itself (registration, JWT refusals), without waiting.
    func record(accountID: String, actor: String, action: String, target: String, outcome: String, detail: String) {
        let record = AuditRecord(
            at: self.clock.unixMilliseconds(), accountID: accountID, actor: actor, action: action, target: target,
            outcome: outcome, detail: detail)
        self.writer.submit([.appendAudit(record)])
    }

    /// The newest `limit` rows of the session's account; the audit spans every scope, so only an account-scope
    /// key may read it. Blocking: waits for queued rows to be written first.
    func list(session: AdminSession, limit: Int) throws(AdminError) -> [AuditRecord] {
        guard session.scope == .account else {
            throw .permissionDenied(
                "admin key \(session.keyID) has scope \(session.scope); the audit covers scope account, "
                    + "so list it with an account-scope key")
        }
        self.writer.flush()
        do throws(StoreError) {
            return try self.store.auditRecords(accountID: session.accountID, limit: limit)
        } catch {
            throw error.adminError
        }
    }

    /// Registers AuditList.
    func registerRoutes(into router: AdminRouter) {
        router.register(.auditList, permissions: [.accountAdmin]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(AuditListRequest.self, payload)
            let limit = request.limit == 0 ? 100 : Int(min(request.limit, 10_000))
            var response = AuditListResponse()
            response.entries = try self.list(session: session, limit: limit).map {
                var entry = AuditEntry()
                entry.sequence = $0.sequence
                entry.atMs = $0.at
                entry.accountID = $0.accountID
                entry.actor = $0.actor
                entry.action = $0.action
                entry.target = $0.target
                entry.outcome = $0.outcome
                entry.detail = $0.detail
                return entry
            }
            return response.protoBytes()
        }
    }
}
