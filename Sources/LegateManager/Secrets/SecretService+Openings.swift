import LegateCore
import LegateStore
import LegateWire

// MARK: - Opening reports: a delegate says it opened (or refused to open) a secret for a task attempt. The report
// is accepted only from the delegate holding that attempt, for a secret version that attempt was sent; anything
// else is refused and audited as a refused report, so the audit trail of openings cannot be padded or forged by
// another delegate.

/// The secret versions recent task attempts were sent, by attempt; the oldest are forgotten beyond a bound (a
/// delegate that never reports must not grow it).
struct SentSecretVersions: Sendable {
    /// Attempts remembered at most.
    static let capacity = 16_384

    private var versions: [String: [String: UInt32]] = [:]
    private var order: [String] = []
    private var head = 0

    private static func key(_ taskID: String, _ attempt: UInt32) -> String { taskID + "/" + String(attempt) }

    /// Remembers the versions an assignment of `attempt` carried.
    mutating func note(_ secrets: [TaskSecret], taskID: String, attempt: UInt32) {
        guard !secrets.isEmpty else { return }
        let key = Self.key(taskID, attempt)
        if self.versions[key] == nil { self.order.append(key) }
        self.versions[key] = Dictionary(
            secrets.map { ($0.secretID, $0.version) }, uniquingKeysWith: { _, last in last })
        while self.order.count - self.head > Self.capacity {
            self.versions[self.order[self.head]] = nil
            self.head += 1
        }
        if self.head > Self.capacity {  // compact now and then instead of removing from the front each time
            self.order.removeFirst(self.head)
            self.head = 0
        }
    }

    /// The version of `secretID` sent with the attempt; nil when the attempt is not remembered, `.some(nil)` when
    /// it is but the secret was not among those sent.
    func version(taskID: String, attempt: UInt32, secretID: String) -> UInt32?? {
        guard let sent = self.versions[Self.key(taskID, attempt)] else { return nil }
        return .some(sent[secretID])
    }
}

extension SecretService {
    /// Checks a SecretOpened report against the attempt it names and answers with nil (accepted: audited, the
    /// secret's last use noted) or the refusal of the call (audited as a refused report). `reply` runs on the task
    /// queue.
    func opened(
        _ report: SecretOpened, identity: DelegateIdentity, reply: @escaping @Sendable (ReportRefusal?) -> Void
    ) {
        self.tasks.heldAttempt(taskID: report.taskID, attempt: report.attempt, delegateID: identity.delegateID) {
            held in
            let refusal: ReportRefusal?
            switch held {
            case .failure(let notHeld): refusal = notHeld
            case .success(let task): refusal = self.checkVersion(report, task: task)
            }
            if let refusal {
                self.refusedReport(report, identity: identity, reason: refusal.message)
            } else {
                self.acceptedReport(report, identity: identity)
            }
            reply(refusal)
        }
    }

    /// Nil when the attempt was sent this version of the secret; else why the report is refused.
    private func checkVersion(_ report: SecretOpened, task: TaskRecord) -> ReportRefusal? {
        let notSent = ReportRefusal(
            code: .permissionDenied,
            message: "attempt \(report.attempt) of task \(report.taskID) was not sent version \(report.version) of "
                + "secret \(report.secretID)")
        guard task.secrets.contains(where: { $0.secretID == report.secretID }) else { return notSent }
        let sent = self.sent.withLock {
            $0.version(taskID: report.taskID, attempt: report.attempt, secretID: report.secretID)
        }
        switch sent {
        case .some(.some(let version)):
            return version == report.version ? nil : notSent
        case .some(.none):
            return notSent
        case .none:
            // Not remembered (this manager restarted since the assignment, or it fell out of the bound): the
            // version an assignment would carry now is the one the attempt was sent.
            let newest = self.directory.read { $0.versions[report.secretID]?.last?.version } ?? 0
            return newest == report.version ? nil : notSent
        }
    }

    private func acceptedReport(_ report: SecretOpened, identity: DelegateIdentity) {
        let now = self.clock.unixMilliseconds()
        let detail =
            "task=\(report.taskID) attempt=\(report.attempt) delegate=\(identity.delegateID) version=\(report.version)"
            + (report.opened ? "" : " error=\(report.error.prefix(200))")
        var writes: [StoreWrite] = [
            .appendAudit(
                AuditRecord(
                    at: now, accountID: identity.accountID, actor: "delegate:\(identity.delegateID)",
                    action: "secret.open", target: report.secretID, outcome: report.opened ? "ok" : "refused",
                    detail: detail))
        ]
        if report.opened {
            let used = self.directory.modify { state -> SecretRecord? in
                guard var secret = state.secrets[report.secretID], secret.accountID == identity.accountID else {
                    return nil
                }
                secret.lastUsedAt = now
                state.secrets[secret.id] = secret
                return secret
            }
            if let used { writes.append(.upsertSecret(used)) }
        }
        self.writer.submit(writes)
    }

    private func refusedReport(_ report: SecretOpened, identity: DelegateIdentity, reason: String) {
        let detail =
            "task=\(report.taskID.prefix(64)) attempt=\(report.attempt) delegate=\(identity.delegateID) "
            + "version=\(report.version) reason=\(reason.prefix(200))"
        self.writer.submit([
            .appendAudit(
                AuditRecord(
                    at: self.clock.unixMilliseconds(), accountID: identity.accountID,
                    actor: "delegate:\(identity.delegateID)", action: "secret.open.report",
                    target: String(report.secretID.prefix(64)), outcome: "refused", detail: detail))
        ])
    }
}
