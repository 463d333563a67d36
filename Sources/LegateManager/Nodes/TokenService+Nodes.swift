import LegateAuth
import LegateCore
import LegateStore
import LegateWire

// Token changes across manager nodes: a change is written with one control message per other node, and each
// node applies the ones addressed to it to its caches and its connected delegates.

extension TokenService {
    /// Writes `writes` durably together with one `kind` control per other live node; returns the controls, whose
    /// outcomes the caller may wait for. A store failure becomes UNAVAILABLE.
    func writeAnnouncing(_ writes: [StoreWrite], _ kind: NodeControlKind, subject: String, detail: String = "")
        throws(AdminError) -> [NodeControl]
    {
        let peers: [String]
        do throws(StoreError) {
            peers = try self.cluster.livePeers()
        } catch {
            throw error.adminError
        }
        let controls = self.cluster.controls(kind, subject: subject, detail: detail, peers: peers)
        try self.writeDurably(writes + controls.map { .insertNodeControl($0) })
        self.cluster.notify(controls)
        return controls
    }

    /// Pushes the successor's value to the delegates on `retiring` connected here, after caching the retiring
    /// token's new expiry. Blocks until they acknowledged or `deadline` passed.
    func rotateLocally(_ retiring: TokenRecord, successor: TokenRecord, value: String, deadline: Duration)
        throws(AdminError) -> FanOutReport
    {
        do throws(ManagerError) {
            self.directory.upsert(record: retiring, token: try TokenSealing.open(retiring, with: self.masterKey))
        } catch {
            throw error.adminError
        }
        var message = TokenRotated()
        message.oldTokenID = retiring.id
        message.newTokenID = successor.id
        message.tokenValue = value
        message.oldTokenRevokedAtMs = retiring.expiresAt ?? 0
        let push = message
        // The delegates move to the successor as they acknowledge: a ring whose rule names a token changes then.
        defer { self.registry.membershipMayHaveChanged() }
        return self.fanOut.push(
            to: self.registry.connections(tokenID: retiring.id).map(\.connection), awaiting: .acknowledgement,
            deadline: deadline, send: { connection, progress in connection.sendTokenRotated(push, progress: progress) })
    }

    /// Reloads one token from the store into the key resolver (created, changed or deleted on another node).
    /// Returns the stored record, nil when it is gone.
    @discardableResult
    func reload(tokenID: String) throws(AdminError) -> TokenRecord? {
        defer { self.registry.membershipMayHaveChanged() }
        guard let record = try self.stored(id: tokenID) else {
            self.directory.remove(tokenID: tokenID)
            self.validator.evict(keyID: tokenID)
            self.replay.remove(keyID: tokenID)
            return nil
        }
        do throws(ManagerError) {
            self.directory.upsert(record: record, token: try TokenSealing.open(record, with: self.masterKey))
        } catch {
            throw error.adminError
        }
        if record.status == .revoked {
            self.validator.evict(keyID: tokenID)
            self.replay.remove(keyID: tokenID)
        }
        return record
    }

    /// Applies a token control from another node; returns it with what it reached here.
    func apply(_ control: NodeControl) throws(AdminError) -> NodeControl {
        var outcome = control
        let report: FanOutReport
        switch control.kind {
        case .tokenRevoked:
            _ = try self.reload(tokenID: control.subject)
            report = self.revokeLocally(
                id: control.subject, deadline: TokenService.acknowledgementDeadline, started: self.clock.monotonicNow())
        case .tokenRotated:
            guard let retiring = try self.reload(tokenID: control.subject),
                let successor = try self.reload(tokenID: control.detail)
            else { return outcome }
            let value: String
            do throws(ManagerError) {
                value = try TokenSealing.open(successor, with: self.masterKey).value
            } catch {
                throw error.adminError
            }
            report = try self.rotateLocally(
                retiring, successor: successor, value: value, deadline: TokenService.acknowledgementDeadline)
        default:
            _ = try self.reload(tokenID: control.subject)
            return outcome
        }
        outcome.connected = report.connected
        outcome.told = report.told
        outcome.acknowledged = report.acknowledged
        return outcome
    }
}
