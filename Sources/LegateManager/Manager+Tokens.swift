import Dispatch
import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import Synchronization

/// What a revoke did (or, with `dryRun`, would do): the counts an operator is shown (issue 4).
public struct RevokeReport: Sendable, Equatable {
    /// The token concerned.
    public var tokenID: String
    /// True when nothing was changed (impact report only).
    public var dryRun: Bool
    /// True when the token was already revoked before this call.
    public var wasAlreadyRevoked: Bool
    /// Delegates connected with the token when the fan-out started.
    public var connected: Int
    /// SELF_DESTRUCT pushes written to a connection.
    public var told: Int
    /// PUSH_ACKs received before the deadline.
    public var acknowledged: Int
    /// Connected delegates that did not acknowledge (connection closed or deadline passed).
    public var notReached: Int
    /// Time from the revoke call to the last acknowledgement (or the deadline); includes the durable write.
    public var fanOutDuration: Duration
}

/// A token as the admin API lists it: the record without its sealed value, plus live usage.
public struct TokenSummary: Sendable, Equatable {
    /// Token id.
    public var id: String
    /// Owning account.
    public var accountID: String
    /// Name, unique within (account, scope).
    public var name: String
    /// Scope text (`account`, `org/<orgID>`, `project/<orgID>/<projectID>`).
    public var scope: String
    /// Active or revoked.
    public var status: TokenStatus
    /// Creation time and creator.
    public var createdAt: Int64
    /// Who created it.
    public var createdBy: String
    /// Revocation time, if revoked.
    public var revokedAt: Int64?
    /// Expiry, if any.
    public var expiresAt: Int64?
    /// Delegates connected with the token right now.
    public var connectedDelegates: Int
    /// Last time a delegate registered or heartbeat with the token (Unix ms; heartbeats land in batches).
    public var lastUsedAt: Int64? = nil
}

/// Collects the outcome of one revoke's SELF_DESTRUCT pushes from many loops.
final class FanOutCollector: Sendable {
    private struct Counts {
        var told = 0
        var acknowledged = 0
        var pending: Int
        var lastAcknowledgement: ContinuousClock.Instant?
    }

    private let counts: Mutex<Counts>
    private let finished = DispatchSemaphore(value: 0)

    init(expected: Int) {
        self.counts = Mutex(Counts(pending: expected))
    }

    func record(_ event: PushEvent) {
        let isLast = self.counts.withLock { counts -> Bool in
            switch event {
            case .sent:
                counts.told += 1
                return false
            case .acknowledged:
                counts.acknowledged += 1
                counts.lastAcknowledgement = ContinuousClock.now
            case .closedWithoutAcknowledgement, .notSent:
                break
            }
            counts.pending -= 1
            return counts.pending == 0
        }
        if isLast { self.finished.signal() }
    }

    /// Waits until every connection reported a final outcome or `deadline` passed.
    func wait(deadline: Duration) -> (told: Int, acknowledged: Int, last: ContinuousClock.Instant?) {
        let nanoseconds = deadline.components.seconds * 1_000_000_000 + deadline.components.attoseconds / 1_000_000_000
        _ = self.finished.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds)))
        return self.counts.withLock { ($0.told, $0.acknowledged, $0.lastAcknowledgement) }
    }
}

extension Manager {
    /// Default time a revoke waits for PUSH_ACKs before reporting.
    public static let revokeAcknowledgementDeadline: Duration = .seconds(2)

    // MARK: - Revoke

    /// Revokes `id`: durable first, then refused by the key resolver, evicted from the JWT cache, and pushed as
    /// SELF_DESTRUCT to every connected delegate on it; returns once all acknowledged or `deadline` passed.
    /// With `dryRun`, only reports how many delegates are connected. Blocks the caller; never call on a loop.
    public func revokeToken(
        id: String, actor: String, dryRun: Bool = false, deadline: Duration = Manager.revokeAcknowledgementDeadline
    ) throws(ManagerError) -> RevokeReport {
        let started = ContinuousClock.now
        guard let record = try self.storedToken(id: id) else {
            self.services.audit(
                accountID: "", actor: actor, action: dryRun ? "token.revoke.dry-run" : "token.revoke", target: id,
                outcome: "not found", detail: "")
            throw .notFound("token \(id); list tokens with `legatectl token list`")
        }
        if dryRun {
            let connected = self.services.registry.connectedCount(tokenID: id)
            self.services.audit(
                accountID: record.accountID, actor: actor, action: "token.revoke.dry-run", target: id,
                outcome: "ok", detail: "scope=\(record.scope) connected=\(connected)")
            return RevokeReport(
                tokenID: id, dryRun: true, wasAlreadyRevoked: record.status == .revoked, connected: connected,
                told: 0, acknowledged: 0, notReached: 0, fanOutDuration: .zero)
        }
        let wasAlreadyRevoked = record.status == .revoked
        if !wasAlreadyRevoked {
            var revoked = record
            revoked.status = .revoked
            revoked.revokedAt = WallClock.unixMilliseconds()
            let audit = AuditRecord(
                at: revoked.revokedAt ?? 0, accountID: record.accountID, actor: actor, action: "token.revoke",
                target: id, outcome: "ok", detail: "name=\(record.name) scope=\(record.scope); status revoked, fan-out follows")
            try self.writeDurably([.updateToken(revoked), .appendAudit(audit)])
        }
        // JWTValidator's contract: the resolver refuses the key first, then the cache is evicted.
        self.services.tokens.markRevoked(tokenID: id)
        self.services.validator.evict(keyID: id)
        let report = self.fanOutSelfDestruct(
            tokenID: id, started: started, deadline: deadline, wasAlreadyRevoked: wasAlreadyRevoked)
        self.services.audit(
            accountID: record.accountID, actor: actor, action: "token.revoke.fan-out", target: id,
            outcome: report.notReached == 0 ? "ok" : "partial",
            detail: "scope=\(record.scope) connected=\(report.connected) told=\(report.told) acknowledged=\(report.acknowledged) "
                + "notReached=\(report.notReached) ms=\(report.fanOutDuration.wireMilliseconds)")
        self.services.log.log(
            .info, "token revoked",
            ["token.id": id, "connected": "\(report.connected)", "acknowledged": "\(report.acknowledged)"])
        return report
    }

    private func fanOutSelfDestruct(
        tokenID: String, started: ContinuousClock.Instant, deadline: Duration, wasAlreadyRevoked: Bool
    ) -> RevokeReport {
        let connections = self.services.registry.connections(tokenID: tokenID)
        let collector = FanOutCollector(expected: connections.count)
        let reason = "delegate token \(tokenID) has been revoked"
        // One hop per event loop, not per connection: 10,000 closures cost more than the pushes themselves.
        let byLoop = Self.groupedByLoop(connections.map(\.connection))
        for (loop, group) in byLoop {
            loop.execute {
                for connection in group {
                    connection.pushSelfDestructOnLoop(reason: reason, tokenID: tokenID) { collector.record($0) }
                }
            }
        }
        let outcome = connections.isEmpty ? (0, 0, nil) : collector.wait(deadline: deadline)
        for (loop, group) in byLoop {
            loop.execute { for connection in group { connection.closeIfSelfDestructUnacknowledged() } }
        }
        return RevokeReport(
            tokenID: tokenID, dryRun: false, wasAlreadyRevoked: wasAlreadyRevoked, connected: connections.count,
            told: outcome.0, acknowledged: outcome.1, notReached: connections.count - outcome.1,
            fanOutDuration: (outcome.2 ?? (connections.isEmpty ? started : ContinuousClock.now)) - started)
    }

    // MARK: - Create, list, delete

    /// Creates an active token named `name` at `scope` (names are unique within (account, scope)); returns its
    /// record and the value, which is never shown again. `expiresAt` (Unix ms) revokes it automatically then.
    public func createToken(
        accountID: String, name: String, actor: String, expiresAt: Int64? = nil, scope: Scope = .account
    ) throws(ManagerError) -> (record: TokenRecord, value: String) {
        guard !name.isEmpty, name.utf8.count <= RegistrationLimits.maxTextBytes else {
            throw .invalidConfiguration("token name must be 1...\(RegistrationLimits.maxTextBytes) bytes")
        }
        let token = DelegateToken.generate()
        let record = try self.services.tokenCreation.withLock { _ throws(ManagerError) -> TokenRecord in
            try self.insertUniqueToken(
                token, accountID: accountID, name: name, actor: actor, expiresAt: expiresAt, scope: scope)
        }
        self.services.tokens.upsert(record: record, token: token)
        return (record, token.value)
    }

    /// Checks the name is free in (account, scope) and writes the token and its audit row durably; call with
    /// `tokenCreation` held.
    private func insertUniqueToken(
        _ token: DelegateToken, accountID: String, name: String, actor: String, expiresAt: Int64?, scope: Scope
    ) throws(ManagerError) -> TokenRecord {
        let existing: [TokenRecord]
        do {
            guard try self.stateStore.account(id: accountID) != nil else { throw ManagerError.notFound("account \(accountID)") }
            existing = try self.stateStore.tokens(accountID: accountID)
        } catch let error as ManagerError {
            throw error
        } catch {
            throw .store("\(error)")
        }
        guard !existing.contains(where: { $0.name == name && $0.scope == scope.description }) else {
            throw .conflict(
                "a token named \(name) already exists in scope \(scope) of account \(accountID); pick another name")
        }
        let now = WallClock.unixMilliseconds()
        let record = TokenRecord(
            id: token.id, accountID: accountID, name: name, scope: scope.description,
            sealedValue: TokenSealing.seal(token, tokenID: token.id, with: self.masterKey), status: .active,
            createdAt: now, createdBy: actor, expiresAt: expiresAt)
        let audit = AuditRecord(
            at: now, accountID: accountID, actor: actor, action: "token.create", target: token.id, outcome: "ok",
            detail: "name=\(name) scope=\(scope) \(token.redacted)" + (expiresAt.map { " expiresAt=\($0)" } ?? ""))
        try self.writeDurably([.insertToken(record), .appendAudit(audit)])
        return record
    }

    /// Tokens of an account with the number of delegates connected with each now.
    public func tokenSummaries(accountID: String) throws(ManagerError) -> [TokenSummary] {
        let records: [TokenRecord]
        do {
            records = try self.stateStore.tokens(accountID: accountID)
        } catch {
            throw .store("\(error)")
        }
        return records.map { record in
            TokenSummary(
                id: record.id, accountID: record.accountID, name: record.name, scope: record.scope,
                status: record.status, createdAt: record.createdAt, createdBy: record.createdBy,
                revokedAt: record.revokedAt, expiresAt: record.expiresAt,
                connectedDelegates: self.services.registry.connectedCount(tokenID: record.id),
                lastUsedAt: self.services.registry.lastUsed(tokenID: record.id))
        }
    }

    /// Deletes a revoked token; an active one is refused with a clear error.
    public func deleteToken(id: String, actor: String) throws(ManagerError) {
        guard let record = try self.storedToken(id: id) else {
            throw .notFound("token \(id); list tokens with `legatectl token list`")
        }
        guard record.status == .revoked else {
            self.services.audit(
                accountID: record.accountID, actor: actor, action: "token.delete", target: id, outcome: "denied",
                detail: "scope=\(record.scope) token is active")
            throw .conflict("token \(id) is active; revoke it first (`legatectl token revoke \(id)`)")
        }
        let audit = AuditRecord(
            at: WallClock.unixMilliseconds(), accountID: record.accountID, actor: actor, action: "token.delete",
            target: id, outcome: "ok", detail: "name=\(record.name) scope=\(record.scope)")
        try self.writeDurably([.deleteToken(id: id), .appendAudit(audit)])
        self.services.tokens.remove(tokenID: id)
        self.services.validator.evict(keyID: id)
    }

    /// Revokes every active token whose expiry has passed at `now` (Unix ms); returns their reports.
    @discardableResult
    public func revokeExpiredTokens(now: Int64) -> [RevokeReport] {
        self.services.tokens.expiredTokenIDs(now: now).compactMap { id in
            try? self.revokeToken(id: id, actor: "system:expiry")
        }
    }

    // MARK: - Helpers

    static func groupedByLoop(_ connections: [any LiveDelegateConnection]) -> [(EventLoop, [any LiveDelegateConnection])] {
        var groups: [ObjectIdentifier: (EventLoop, [any LiveDelegateConnection])] = [:]
        for connection in connections {
            let loop = connection.eventLoop
            groups[ObjectIdentifier(loop), default: (loop, [])].1.append(connection)
        }
        return Array(groups.values)
    }

    func storedToken(id: String) throws(ManagerError) -> TokenRecord? {
        do {
            return try self.stateStore.token(id: id)
        } catch {
            throw .store("\(error)")
        }
    }

    /// Submits `writes` and waits until they are durable (DESIGN.md §7: durable before acknowledged).
    func writeDurably(_ writes: [StoreWrite]) throws(ManagerError) {
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<StoreError?>(nil)
        self.services.writer.submit(writes) { error in
            failure.withLock { $0 = error }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) {
            throw .store(error.description)
        }
    }
}
