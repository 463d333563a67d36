import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import LegateWire

/// What a rotation did: the successor token (value shown once) and how many delegates switched to it.
public struct RotateReport: Sendable, Equatable {
    /// The successor token's record.
    public var token: TokenRecord
    /// The successor's value, shown once.
    public var value: String
    /// Delegates connected with the old token when the push started.
    public var connected: Int
    /// TOKEN_ROTATED pushes written.
    public var told: Int
    /// Delegates that switched (PUSH_ACK) before the deadline.
    public var acknowledged: Int
    /// When the old token is revoked automatically (Unix ms): its expiry, set to the end of the overlap.
    public var oldTokenRevokedAt: Int64
}

extension Manager {
    /// Default overlap during which the old token keeps working after a rotation.
    public static let defaultRotationOverlap: Duration = .seconds(300)

    /// Rotates `id`: creates a successor, pushes its value to every connected delegate over its live connection
    /// (they switch without reconnecting), and sets the old token to expire (be revoked, with the full fan-out)
    /// after `overlap`. The expiry is durable, so a restart during the overlap still revokes it.
    public func rotateToken(
        id: String, actor: String, overlap: Duration = Manager.defaultRotationOverlap,
        deadline: Duration = Manager.revokeAcknowledgementDeadline
    ) throws(ManagerError) -> RotateReport {
        guard let old = try self.storedToken(id: id) else {
            throw .notFound("token \(id); list tokens with `legatectl token list`")
        }
        guard old.status == .active else {
            throw .conflict("token \(id) is revoked; create a new token instead of rotating it")
        }
        guard let scope = try? Scope(parsing: old.scope) else {
            throw .conflict(
                "token \(id) has an unreadable scope \"\(old.scope.prefix(80))\"; create a new token instead")
        }
        let now = WallClock.unixMilliseconds()
        let overlapMilliseconds = overlap.components.seconds * 1000 + overlap.components.attoseconds / 1_000_000_000_000_000
        let successor = Self.successorName(
            of: old.name, existing: try self.tokenNames(old.accountID, scope: old.scope))
        let created = try self.createToken(
            accountID: old.accountID, name: successor,
            actor: actor, expiresAt: old.expiresAt, scope: scope)
        var retiring = old
        let revokeAt = now + overlapMilliseconds
        retiring.expiresAt = min(old.expiresAt ?? revokeAt, revokeAt)
        let audit = AuditRecord(
            at: now, accountID: old.accountID, actor: actor, action: "token.rotate", target: id, outcome: "ok",
            detail: "scope=\(scope) successor=\(created.record.id) oldRevokedAt=\(retiring.expiresAt ?? revokeAt)")
        try self.writeDurably([.updateToken(retiring), .appendAudit(audit)])
        self.services.tokens.upsert(record: retiring, token: try TokenSealing.open(retiring, with: self.masterKey))

        var message = TokenRotated()
        message.oldTokenID = id
        message.newTokenID = created.record.id
        message.tokenValue = created.value
        message.oldTokenRevokedAtMs = retiring.expiresAt ?? revokeAt
        let connections = self.services.registry.connections(tokenID: id)
        let collector = FanOutCollector(expected: connections.count)
        for (_, connection) in connections {
            connection.sendTokenRotated(message) { collector.record($0) }
        }
        let outcome = connections.isEmpty ? (0, 0, nil) : collector.wait(deadline: deadline)
        self.services.audit(
            accountID: old.accountID, actor: actor, action: "token.rotate.push", target: id,
            outcome: outcome.1 == connections.count ? "ok" : "partial",
            detail: "scope=\(scope) connected=\(connections.count) told=\(outcome.0) switched=\(outcome.1)")
        return RotateReport(
            token: created.record, value: created.value, connected: connections.count, told: outcome.0,
            acknowledged: outcome.1, oldTokenRevokedAt: retiring.expiresAt ?? revokeAt)
    }

    private func tokenNames(_ accountID: String, scope: String) throws(ManagerError) -> Set<String> {
        do {
            return Set(try self.stateStore.tokens(accountID: accountID).filter { $0.scope == scope }.map(\.name))
        } catch {
            throw .store("\(error)")
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
