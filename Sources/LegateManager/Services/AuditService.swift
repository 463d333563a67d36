import LegateCore
import LegateNet
import LegateStore
import LegateWire
import Synchronization

/// Turns typed audit events into rows: recorded without waiting (`record`), or returned for a caller to write in
/// the same transaction as the change they describe (`row`); also lists the audit for the admin API.
final class AuditService: Sendable {
    private let store: any StateStore
    private let writer: StoreWriter
    private let clock: any ServiceClock
    private let retention: AuditRetention
    /// Repeated failures of unauthenticated peers, folded so one address costs a row per window, not per attempt.
    private let peerFailures: Mutex<AuditFailureAggregator>
    /// Successful admin sign-ins, folded to one row per key per hour.
    private let signIns = Mutex(AdminSignInWindows())

    /// Creates the service over `store` (reads, retention) and `writer` (appends).
    init(
        store: any StateStore, writer: StoreWriter, clock: any ServiceClock, retention: AuditRetention = .defaults,
        failureWindows: AuditFailureAggregator.Configuration = .defaults
    ) {
        self.store = store
        self.writer = writer
        self.clock = clock
        self.retention = retention
        self.peerFailures = Mutex(AuditFailureAggregator(configuration: failureWindows))
    }

    /// Records a refused peer that is not authenticated (a bad JWT, an unknown token): the first failure of an
    /// (address, action, reason) in a window is written at once, repeats are counted into one summary row when the
    /// window closes. `reason` must be coarse (an error kind, never a value from the peer).
    func recordPeerFailure(address: String, action: String, reason: String, accountID: String) {
        let key = AuditFailureAggregator.Key(address: address, action: action, reason: reason)
        let now = self.clock.unixMilliseconds()
        let rows = self.peerFailures.withLock { $0.failure(key, accountID: accountID, at: now) }
        if !rows.isEmpty { self.writer.submit(rows.map { .appendAudit($0) }) }
    }

    /// Writes the summaries of failure windows that have closed by now (cheap; called on every tick).
    func closeFailureWindows() {
        let now = self.clock.unixMilliseconds()
        let rows = self.peerFailures.withLock { $0.flush(now: now) } + self.signIns.withLock { $0.flush(now: now) }
        if !rows.isEmpty { self.writer.submit(rows.map { .appendAudit($0) }) }
    }

    /// Writes the summaries of every open failure window (at shutdown).
    func closeAllFailureWindows() {
        let rows = self.peerFailures.withLock { $0.flushAll() } + self.signIns.withLock { $0.flush(now: .max) }
        if !rows.isEmpty { self.writer.submit(rows.map { .appendAudit($0) }) }
    }

    /// Deletes rows older than the retention, in bounded batches; returns how many went. Blocking: call it off
    /// the event loops.
    @discardableResult
    func applyRetention() throws(StoreError) -> Int {
        try self.store.deleteExpiredAudit(self.retention, nowMilliseconds: self.clock.unixMilliseconds())
    }

    /// The row for `event`, stamped now, to write together with the change it describes.
    func row(_ event: AuditEvent, accountID: String, actor: String, at: Int64? = nil) -> AuditRecord {
        event.record(accountID: accountID, actor: actor, at: at ?? self.clock.unixMilliseconds())
    }

    /// Records `event` without waiting for it (an audit of a refusal must not slow the refusal). A successful
    /// admin sign-in is written once per key per hour, repeats summarised when the hour closes.
    func record(_ event: AuditEvent, accountID: String, actor: String) {
        if case .adminAuthenticated(let keyID, let peer, let scope) = event {
            let row = self.row(event, accountID: accountID, actor: actor)
            let rows = self.signIns.withLock { $0.signIn(keyID: keyID, peer: peer, scope: "\(scope)", row: row) }
            if !rows.isEmpty { self.writer.submit(rows.map { .appendAudit($0) }) }
            return
        }
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
    func list(session: AdminSession, filter: AuditFilter = AuditFilter(), limit: Int) throws(AdminError) -> [AuditRecord] {
        guard session.scope == .account else {
            throw .permissionDenied(
                "admin key \(session.keyID) has scope \(session.scope); the audit covers scope account, "
                    + "so list it with an account-scope key")
        }
        self.writer.flush()
        do throws(StoreError) {
            return try self.store.auditRecords(accountID: session.accountID, filter: filter, limit: limit)
        } catch {
            throw error.adminError
        }
    }

    /// Registers AuditList.
    func registerRoutes(into router: AdminRouter) {
        router.register(.auditList, permissions: [.accountAdmin]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(AuditListRequest.self, payload)
            let limit = request.limit == 0 ? 100 : Int(min(request.limit, 10_000))
            let filter = AuditFilter(
                action: request.action.isEmpty ? nil : request.action, actor: request.actor.isEmpty ? nil : request.actor,
                since: request.sinceMs == 0 ? nil : request.sinceMs, until: request.untilMs == 0 ? nil : request.untilMs)
            var response = AuditListResponse()
            response.entries = try self.list(session: session, filter: filter, limit: limit).map {
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
