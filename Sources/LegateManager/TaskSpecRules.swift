import LegateCore
import LegateWire

/// Validation of submitted task specs and mapping between stored and wire task states.
enum TaskSpecRules {
    static let maxTypeBytes = 64
    static let maxTextBytes = 256
    static let maxSelectors = 64
    static let maxAttempts: UInt32 = 100
    /// Room a TASK_ASSIGN frame needs beyond its payload (task id, type, attempt, timings, field headers).
    static let assignmentEnvelopeBytes = 1024

    /// The largest payload a task may carry: the configured limit, lowered so that its assignment fits in one
    /// frame of `maxFrameBytes` (what delegates accept).
    static func maxPayloadBytes(configured: Int, maxFrameBytes: Int) -> Int {
        let frame = min(maxFrameBytes, FrameLimits.maxFrameBytesCeiling)
        return max(0, min(configured, frame - Self.assignmentEnvelopeBytes))
    }

    /// A queued task record for `spec`, or a refusal naming the spec and the field.
    static func record(
        from spec: TaskSpec, index: Int, session: AdminSession, limits: TaskConfiguration, maxFrameBytes: Int,
        now: Int64, id: String
    ) throws(AdminError) -> TaskRecord {
        func refuse(_ text: String) -> AdminError {
            AdminError(code: .invalidArgument, message: "task \(index): \(text)")
        }
        let payloadLimit = Self.maxPayloadBytes(configured: limits.maxPayloadBytes, maxFrameBytes: maxFrameBytes)
        guard spec.payload.count <= payloadLimit else {
            guard payloadLimit >= limits.maxPayloadBytes else {
                throw refuse(
                    "payload of \(spec.payload.count) bytes exceeds the limit of \(payloadLimit) bytes: its assignment "
                        + "must fit in one frame of \(maxFrameBytes) bytes (the manager's frame limit), less "
                        + "\(Self.assignmentEnvelopeBytes) bytes around the payload; send a smaller payload")
            }
            throw refuse(
                "payload of \(spec.payload.count) bytes exceeds the limit of \(payloadLimit) bytes "
                    + "(legate-manager --max-task-payload-bytes); send a smaller payload, or raise the limit")
        }
        guard (1...Self.maxTypeBytes).contains(spec.type.utf8.count) else {
            throw refuse("type must be 1...\(Self.maxTypeBytes) bytes (e.g. \"echo\", \"shell\")")
        }
        if spec.type == "shell", let problem = ShellPayloadRules.problem(spec.payload) {
            throw refuse(problem)
        }
        guard spec.selectors.count <= Self.maxSelectors else {
            throw refuse("\(spec.selectors.count) selectors; at most \(Self.maxSelectors) are allowed")
        }
        if let bad = spec.selectors.first(where: { $0.isEmpty || $0.utf8.count > Self.maxTextBytes }) {
            throw refuse("selector of \(bad.utf8.count) bytes is outside 1...\(Self.maxTextBytes)")
        }
        for (name, value) in [("target_delegate_id", spec.targetDelegateID), ("idempotency_key", spec.idempotencyKey)]
        where value.utf8.count > Self.maxTextBytes {
            throw refuse("\(name) of \(value.utf8.count) bytes exceeds \(Self.maxTextBytes)")
        }
        let timeout = spec.timeoutMs == 0 ? limits.defaultTimeout.int64Milliseconds : Int64(spec.timeoutMs)
        let maxTimeout = limits.maxTimeout.int64Milliseconds
        guard timeout <= maxTimeout else {
            throw refuse("timeout of \(timeout) ms exceeds the manager's limit of \(maxTimeout) ms")
        }
        guard spec.maxAttempts <= Self.maxAttempts else {
            throw refuse("max_attempts \(spec.maxAttempts) exceeds \(Self.maxAttempts)")
        }
        return TaskRecord(
            id: id, accountID: session.accountID, type: spec.type, payload: spec.payload,
            selectors: Array(Set(spec.selectors)).sorted(),
            targetDelegateID: spec.targetDelegateID.isEmpty ? nil : spec.targetDelegateID, timeoutMs: timeout,
            idempotencyKey: spec.idempotencyKey.isEmpty ? nil : spec.idempotencyKey,
            maxAttempts: spec.maxAttempts == 0 ? limits.defaultMaxAttempts : spec.maxAttempts,
            submittedBy: session.actor, createdAt: now, scope: session.scope)
    }

    /// The stored status a wire filter names; nil for "any".
    static func status(_ state: TaskState) throws(AdminError) -> TaskStatus? {
        if state == .unspecified { return nil }
        guard let status = TaskStatus(wire: state) else {
            throw AdminError(code: .invalidArgument, message: "unknown task state \(state)")
        }
        return status
    }
}
