import LegateCore
import LegateNet
import LegateStore
import LegateWire

/// What one approve or reject did.
struct DecisionReport: Sendable, Equatable {
    /// Delegates whose state changed.
    var decided: [String] = []
    /// Of those, connected ones told over their connection.
    var told = 0
    /// Named but not decided, as "id: why".
    var skipped: [String] = []
}

/// Which delegates a decision names: by ids, or every pending one of a profile or of a token.
enum DecisionSelector: Sendable, Equatable {
    /// These delegates.
    case ids([String])
    /// Every pending delegate of this profile.
    case profile(String)
    /// Every pending delegate on this token.
    case token(String)
}

/// Approval of pending delegates: approve and reject (durable first, then told over their connections), the
/// pending-expiry sweep, and deleting a delegate. Blocking: call it off the event loops.
final class ApprovalService: Sendable {
    /// How long a decision or a delete waits for a connection's loop to write its push.
    static let pushTimeout: Duration = .seconds(2)

    private let registry: DelegateRegistry
    private let profiles: ProfileDirectory
    private let delegates: DelegateQueries
    private let writer: StoreWriter
    private let clock: any ServiceClock
    private let audit: AuditService
    private let fanOut: PushFanOut
    private let log: any LogSink
    private let pendingExpiry: Duration
    /// This node among the managers sharing the store: decisions and deletes are announced to the others.
    let cluster: NodeCluster
    /// Delegates a decision or delete is writing now: a second one skips them instead of deciding twice.
    private let inFlight = Reservations()

    /// Creates the service; pending registrations expire after `pendingExpiry`.
    init(
        registry: DelegateRegistry, profiles: ProfileDirectory, delegates: DelegateQueries, writer: StoreWriter,
        clock: any ServiceClock, audit: AuditService, fanOut: PushFanOut, log: any LogSink, pendingExpiry: Duration,
        cluster: NodeCluster
    ) {
        self.cluster = cluster
        self.registry = registry
        self.profiles = profiles
        self.delegates = delegates
        self.writer = writer
        self.clock = clock
        self.audit = audit
        self.fanOut = fanOut
        self.log = log
        self.pendingExpiry = pendingExpiry
    }

    // MARK: - Approve and reject

    /// Approves or rejects the delegates `selector` names among those the session may see.
    func decide(_ selector: DecisionSelector, approve: Bool, reason: String, session: AdminSession)
        throws(AdminError) -> DecisionReport
    {
        guard reason.utf8.count <= 1024 else {
            throw .invalidArgument("reason of \(reason.utf8.count) bytes exceeds 1024")
        }
        let records = try self.delegates.records(session: session)
        var targets: [DelegateRecord] = []
        var skipped: [String] = []
        switch selector {
        case .ids(let ids):
            for id in ids {
                if let record = records.first(where: { $0.id == id }) {
                    targets.append(record)
                } else {
                    skipped.append("\(id): no such delegate in this account")
                }
            }
        case .profile(let name):
            guard self.profiles.profile(accountID: session.accountID, name: name) != nil else {
                throw .notFound("profile \(name) does not exist; see legatectl profile list")
            }
            targets = records.filter { $0.status == .pending && $0.profile == name }
        case .token(let tokenID):
            targets = records.filter { $0.status == .pending && $0.tokenID == tokenID }
        }
        var report = try self.decide(targets, approve: approve, reason: reason, actor: session.actor)
        report.skipped = skipped + report.skipped
        return report
    }

    /// Approves or rejects pending delegates: durable first, then each connected one is told (an approved one
    /// becomes available for tasks at once, a rejected one is disconnected). Blocking.
    func decide(_ targets: [DelegateRecord], approve: Bool, reason: String, actor: String) throws(AdminError)
        -> DecisionReport
    {
        var report = DecisionReport()
        let reserved = self.inFlight.reserveFree(targets.map(\.id))
        defer { self.inFlight.release(reserved) }
        var updated: [DelegateRecord] = []
        var writes: [StoreWrite] = []
        let now = self.clock.unixMilliseconds()
        for target in targets {
            guard reserved.contains(target.id) else {
                report.skipped.append("\(target.id): another decision is being recorded")
                continue
            }
            guard let current = self.registry.record(id: target.id), current.status == .pending else {
                let state = self.registry.record(id: target.id)?.status.rawValue ?? "deleted"
                report.skipped.append("\(target.id): is \(state), not pending")
                continue
            }
            var record = current
            record.status = approve ? (self.registry.isConnected(record.id) ? .active : .disconnected) : .rejected
            record.pendingExpiresAt = nil
            record.decisionReason = reason.isEmpty ? nil : reason
            updated.append(record)
            writes.append(.upsertDelegate(record))
            writes.append(
                .appendAudit(
                    self.audit.row(
                        .delegateDecided(record, approved: approve, reason: reason), accountID: record.accountID,
                        actor: actor, at: now)))
        }
        guard !writes.isEmpty else { return report }
        let controls = try self.announce(updated.map(\.id), .delegateChanged)
        do throws(StoreError) {
            try self.writer.writeDurably(writes + controls.map { .insertNodeControl($0) })
        } catch {
            throw error.adminError
        }
        self.cluster.notify(controls)
        for record in updated { self.registry.update(record) }
        self.registry.membershipMayHaveChanged()
        report.decided = updated.map(\.id)
        let told = self.tell(updated, approve: approve, reason: reason)
        // Delegates connected to other nodes were told there.
        report.told = told + self.cluster.outcomes(of: controls).reduce(0) { $0 + $1.told }
        return report
    }

    /// Pushes APPROVAL_DECISION to the connected ones of `records`; returns how many were written.
    func tell(_ records: [DelegateRecord], approve: Bool, reason: String) -> Int {
        var targets: [any LiveDelegateConnection] = []
        var byConnection: [ObjectIdentifier: (DelegateRecord, ApprovalDecision)] = [:]
        for record in records {
            guard let connection = self.registry.connection(delegateID: record.id) else { continue }
            var decision = ApprovalDecision()
            decision.approved = approve
            decision.reason = reason
            if approve {
                decision.startupScript =
                    self.profiles.profile(accountID: record.accountID, name: record.profile)?.startupScript ?? ""
            }
            targets.append(connection)
            byConnection[ObjectIdentifier(connection)] = (record, decision)
        }
        let decisions = byConnection
        return self.fanOut.push(
            to: targets, awaiting: .written, deadline: Self.pushTimeout,
            send: { connection, progress in
                guard let (record, decision) = decisions[ObjectIdentifier(connection)] else {
                    return progress(.notSent)
                }
                connection.pushApprovalDecision(decision, record: record, progress: progress)
            }
        ).told
    }

    /// Rejects pending registrations whose time ran out at `now` (Unix ms, the clock's time), telling connected
    /// ones; returns the ids rejected. Blocking.
    @discardableResult
    func expirePending(now: Int64) -> [String] {
        let expired = self.registry.expiredPending(now: now)
        guard !expired.isEmpty else { return [] }
        let hours = self.pendingExpiry.int64Milliseconds / 3_600_000
        let window = hours > 0 ? "\(hours) h" : "\(self.pendingExpiry)"
        do throws(AdminError) {
            let report = try self.decide(
                expired, approve: false, reason: "approval not given within \(window)", actor: "system")
            if !report.decided.isEmpty {
                self.log.log(.info, "pending registrations expired", ["count": "\(report.decided.count)"])
            }
            return report.decided
        } catch {
            self.log.log(.error, "pending expiry not recorded", ["error": error.message])
            return []
        }
    }

    // MARK: - Delete

    /// Accessors for the prune extension in its own file (the stored properties are private).
    var delegateQueries: DelegateQueries { self.delegates }
    var liveRegistry: DelegateRegistry { self.registry }
    var pushFanOut: PushFanOut { self.fanOut }
    var durableWriter: StoreWriter { self.writer }
    var reservations: Reservations { self.inFlight }
    func now() -> Int64 { self.clock.unixMilliseconds() }

    /// Deletes a delegate in any state; a connected one is told SELF_DESTRUCT first. Blocking.
    func delete(id: String, session: AdminSession) throws(AdminError) {
        let record = try self.delegates.record(id: id, session: session)
        guard self.inFlight.reserve(id) else {
            throw .failedPrecondition("a decision about delegate \(id) is being recorded; retry")
        }
        defer { self.inFlight.release([id]) }
        var push = "not connected"
        if let connection = self.registry.connection(delegateID: id) {
            let reason = "delegate \(id) was deleted by an administrator"
            let fanOut = self.fanOut.push(
                to: [connection], awaiting: .acknowledgement, deadline: Self.pushTimeout,
                send: { connection, progress in
                    connection.pushSelfDestructOnLoop(reason: reason, tokenID: record.tokenID, progress: progress)
                },
                afterDeadline: { $0.closeIfSelfDestructUnacknowledged() })
            push =
                "SELF_DESTRUCT " + (fanOut.acknowledged == 1 ? "acknowledged" : fanOut.told == 1 ? "sent" : "notSent")
        }
        let controls = try self.announce([id], .delegateDeleted)
        // Forget it before the store does, so the closing connection does not write the record back.
        self.registry.remove(delegateID: id)
        self.registry.membershipMayHaveChanged()
        do throws(StoreError) {
            try self.writer.writeDurably(controls.map { .insertNodeControl($0) } + [
                .deleteDelegate(id: id),
                .appendAudit(
                    self.audit.row(
                        .delegateDeleted(record, push: push), accountID: record.accountID,
                        actor: session.actor)),
            ])
        } catch {
            self.registry.load([record])
            throw error.adminError
        }
        self.cluster.notify(controls)
    }
}
