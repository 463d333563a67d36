import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import LegateWire

// MARK: - Revoke, rotate and the expiry sweep

extension TokenService {
    /// Revokes (or, with `dryRun`, measures) a token the session owns.
    func revoke(id: String, session: AdminSession, dryRun: Bool) throws(AdminError) -> RevokeReport {
        _ = try self.owned(id: id, session: session)
        return try self.revoke(id: id, actor: session.actor, dryRun: dryRun)
    }

    /// Rotates a token the session owns.
    func rotate(id: String, session: AdminSession, overlap: Duration) throws(AdminError) -> RotateReport {
        _ = try self.owned(id: id, session: session)
        return try self.rotate(id: id, actor: session.actor, overlap: overlap)
    }

    /// Revokes `id`: durable first, then refused by the key resolver, evicted from the JWT cache, and pushed as
    /// SELF_DESTRUCT to every connected delegate on it; returns once all acknowledged or `deadline` passed.
    /// With `dryRun`, only reports how many delegates are connected. Blocks the caller.
    func revoke(
        id: String, actor: String, dryRun: Bool = false, deadline: Duration = TokenService.acknowledgementDeadline
    ) throws(AdminError) -> RevokeReport {
        let started = self.clock.monotonicNow()
        guard let record = try self.stored(id: id) else {
            self.audit.record(.tokenRevokeNotFound(tokenID: id, dryRun: dryRun), accountID: "", actor: actor)
            throw .notFound("token \(id) does not exist; list tokens with `legatectl token list`")
        }
        if dryRun {
            let connected = self.registry.connectedCount(tokenID: id)
            self.audit.record(
                .tokenRevokeDryRun(tokenID: id, scope: record.scope, connected: connected),
                accountID: record.accountID, actor: actor)
            return RevokeReport(
                tokenID: id, dryRun: true, wasAlreadyRevoked: record.status == .revoked, connected: connected,
                told: 0, acknowledged: 0, notReached: 0, fanOutDuration: .zero)
        }
        let wasAlreadyRevoked = record.status == .revoked
        var controls: [NodeControl] = []
        if !wasAlreadyRevoked {
            var revoked = record
            revoked.status = .revoked
            revoked.revokedAt = self.clock.unixMilliseconds()
            let row = self.audit.row(
                .tokenRevoked(tokenID: id, name: record.name, scope: record.scope), accountID: record.accountID,
                actor: actor, at: revoked.revokedAt)
            controls = try self.writeAnnouncing([.updateToken(revoked), .appendAudit(row)], .tokenRevoked, subject: id)
        }
        var fanOut = self.revokeLocally(id: id, deadline: deadline, started: started)
        // Delegates held by other nodes: each node pushed to its own and wrote back what it reached.
        for outcome in self.cluster.outcomes(of: controls) {
            fanOut.connected += outcome.connected
            fanOut.told += outcome.told
            fanOut.acknowledged += outcome.acknowledged
        }
        if !controls.isEmpty { fanOut.duration = self.clock.monotonicNow() - started }
        self.metrics.revocationFanOutDuration.observe(fanOut.duration)
        self.audit.record(
            .tokenRevokeFanOut(tokenID: id, scope: record.scope, report: fanOut), accountID: record.accountID,
            actor: actor)
        self.log.log(
            .info, "token revoked",
            ["token.id": id, "connected": "\(fanOut.connected)", "acknowledged": "\(fanOut.acknowledged)"])
        return RevokeReport(
            tokenID: id, dryRun: false, wasAlreadyRevoked: wasAlreadyRevoked, connected: fanOut.connected,
            told: fanOut.told, acknowledged: fanOut.acknowledged, notReached: fanOut.notReached,
            fanOutDuration: fanOut.duration)
    }

    /// The revoke on this node once it is durable (here or on another node): the key resolver refuses the token,
    /// the JWT cache forgets it, and its delegates connected here are told SELF_DESTRUCT. Blocks until they
    /// acknowledged or `deadline` passed.
    func revokeLocally(id: String, deadline: Duration, started: ContinuousClock.Instant) -> FanOutReport {
        // JWTValidator's contract: the resolver refuses the key first, then the cache is evicted.
        self.directory.markRevoked(tokenID: id)
        self.validator.evict(keyID: id)
        self.replay.remove(keyID: id)
        self.registry.membershipMayHaveChanged()
        let reason = "delegate token \(id) has been revoked"
        return self.fanOut.push(
            to: self.registry.connections(tokenID: id).map(\.connection), awaiting: .acknowledgement,
            deadline: deadline, started: started,
            send: { connection, progress in
                connection.pushSelfDestructOnLoop(reason: reason, tokenID: id, progress: progress)
            },
            afterDeadline: { $0.closeIfSelfDestructUnacknowledged() })
    }

    /// Rotates `id`: creates a successor, pushes its value to every connected delegate over its live connection
    /// (they switch without reconnecting), and sets the old token to expire (be revoked, with the full fan-out)
    /// after `overlap`. The expiry is durable, so a restart during the overlap still revokes it. Blocks.
    func rotate(
        id: String, actor: String, overlap: Duration = TokenService.defaultRotationOverlap,
        deadline: Duration = TokenService.acknowledgementDeadline
    ) throws(AdminError) -> RotateReport {
        guard let old = try self.stored(id: id) else {
            throw .notFound("token \(id) does not exist; list tokens with `legatectl token list`")
        }
        guard old.status == .active else {
            throw .failedPrecondition("token \(id) is revoked; create a new token instead of rotating it")
        }
        guard let scope = try? Scope(parsing: old.scope) else {
            throw .failedPrecondition(
                "token \(id) has an unreadable scope \"\(old.scope.prefix(80))\"; create a new token instead")
        }
        let successor = Self.successorName(of: old.name, existing: try self.names(old.accountID, scope: old.scope))
        let created = try self.create(
            accountID: old.accountID, name: successor, actor: actor, expiresAt: old.expiresAt, scope: scope)
        let revokeAt = self.clock.unixMilliseconds() + overlap.int64Milliseconds
        var retiring = old
        retiring.expiresAt = min(old.expiresAt ?? revokeAt, revokeAt)
        let oldRevokedAt = retiring.expiresAt ?? revokeAt
        let row = self.audit.row(
            .tokenRotated(
                tokenID: id, scope: scope.description, successor: created.record.id, oldRevokedAt: oldRevokedAt),
            accountID: old.accountID, actor: actor)
        let controls = try self.writeAnnouncing(
            [.updateToken(retiring), .appendAudit(row)], .tokenRotated, subject: id, detail: created.record.id)
        var fanOut = try self.rotateLocally(
            retiring, successor: created.record, value: created.value, deadline: deadline)
        for outcome in self.cluster.outcomes(of: controls) {
            fanOut.connected += outcome.connected
            fanOut.told += outcome.told
            fanOut.acknowledged += outcome.acknowledged
        }
        self.audit.record(
            .tokenRotatePushed(tokenID: id, scope: scope.description, report: fanOut), accountID: old.accountID,
            actor: actor)
        return RotateReport(
            token: created.record, value: created.value, connected: fanOut.connected, told: fanOut.told,
            acknowledged: fanOut.acknowledged, oldTokenRevokedAt: oldRevokedAt)
    }

    /// Revokes every active token whose expiry has passed at `now` (Unix ms, the clock's time): tokens created
    /// with an expiry and old tokens at the end of a rotation overlap. Returns their reports. Blocks.
    @discardableResult
    func sweepExpired(now: Int64) -> [RevokeReport] {
        self.directory.expiredTokenIDs(now: now).compactMap { id in
            do throws(AdminError) {
                return try self.revoke(id: id, actor: "system:expiry")
            } catch {
                self.log.log(.error, "expired token not revoked", ["token.id": id, "error": error.message])
                return nil
            }
        }
    }

    private func names(_ accountID: String, scope: String) throws(AdminError) -> Set<String> {
        do throws(StoreError) {
            return Set(try self.store.tokens(accountID: accountID).filter { $0.scope == scope }.map(\.name))
        } catch {
            throw error.adminError
        }
    }

    /// `name-2`, `name-3`, ... (the first free one), stripping a previous rotation's suffix.
    static func successorName(of name: String, existing: Set<String>) -> String {
        var base = name
        if let dash = name.lastIndex(of: "-"), Int(name[name.index(after: dash)...]) != nil {
            base = String(name[..<dash])
        }
        for number in 2...10_000 where !existing.contains("\(base)-\(number)") {
            return "\(base)-\(number)"
        }
        return "\(base)-\(ManagerServices.newID(prefix: "r"))"
    }
}
