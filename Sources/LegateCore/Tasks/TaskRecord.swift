// Task records: what was asked, where it stands, how it ended. Pure values: no clock, no I/O.
public import LegateWire

/// Where a task is in its lifecycle (Proto `TaskState`).
public enum TaskStatus: String, Sendable, Equatable, Codable, CaseIterable {
    /// Waiting for an eligible delegate with free capacity.
    case queued
    /// Pushed to a delegate under a lease; not acknowledged yet.
    case assigned
    /// The delegate acknowledged the assignment.
    case acknowledged
    /// The delegate reported that the work started.
    case running
    /// Finished successfully.
    case succeeded
    /// Finished with an error, or ran out of attempts.
    case failed
    /// Not finished within its timeout.
    case timedOut = "timed_out"
    /// Cancelled by an admin.
    case cancelled

    /// True once the task can no longer change.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .timedOut, .cancelled: return true
        case .queued, .assigned, .acknowledged, .running: return false
        }
    }

    /// True while an attempt is held by a delegate.
    public var isHeld: Bool { self == .assigned || self == .acknowledged || self == .running }
}

extension TaskStatus {
    /// The wire form (`TaskState`) of this status.
    public var wire: TaskState {
        switch self {
        case .queued: return .queued
        case .assigned: return .assigned
        case .acknowledged: return .acknowledged
        case .running: return .running
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .timedOut: return .timedOut
        case .cancelled: return .cancelled
        }
    }

    /// The status a wire state names; nil for UNSPECIFIED and unknown values.
    public init?(wire: TaskState) {
        guard let status = Self.allCases.first(where: { $0.wire == wire }) else { return nil }
        self = status
    }
}

/// A task: the immutable request plus its current state.
///
/// The request's fields (everything set at submission except the payload) live in one shared object, so the many
/// copies a task's record goes through on its way (board, effects, store batch, outbox, summaries) retain one
/// reference instead of each string; setting one of them copies that object first when it is shared.
public struct TaskRecord: Sendable, Equatable {
    /// Task identifier (`tsk_...`).
    public var id: String {
        get { self.request.id }
        set { self.uniqueRequest().id = newValue }
    }
    /// Owning account; only this account's delegates may run it.
    public var accountID: String {
        get { self.request.accountID }
        set { self.uniqueRequest().accountID = newValue }
    }
    /// Task type; the delegate must support it.
    public var type: String {
        get { self.request.type }
        set { self.uniqueRequest().type = newValue }
    }
    /// Opaque payload handed to the delegate's handler (stored in the record itself: summaries leave it out).
    public var payload: [UInt8]
    /// Tags an eligible delegate must all have.
    public var selectors: [String] {
        get { self.request.selectors }
        set { self.uniqueRequest().selectors = newValue }
    }
    /// Only this delegate may run it, when set.
    public var targetDelegateID: String? {
        get { self.request.targetDelegateID }
        set { self.uniqueRequest().targetDelegateID = newValue }
    }
    /// Time from submission to a final result, milliseconds.
    public var timeoutMs: Int64 {
        get { self.request.timeoutMs }
        set { self.uniqueRequest().timeoutMs = newValue }
    }
    /// Submitting the same key again returns this task.
    public var idempotencyKey: String? {
        get { self.request.idempotencyKey }
        set { self.uniqueRequest().idempotencyKey = newValue }
    }
    /// Attempts that may be lost (delegate gone, lease expired) before the task fails.
    public var maxAttempts: UInt32 {
        get { self.request.maxAttempts }
        set { self.uniqueRequest().maxAttempts = newValue }
    }
    /// Who submitted it (`admin:<key id>`).
    public var submittedBy: String {
        get { self.request.submittedBy }
        set { self.uniqueRequest().submittedBy = newValue }
    }
    /// The submitting key's scope: only delegates whose token scope covers it may run the task, and only keys
    /// whose scope covers it may see it.
    public var scope: Scope {
        get { self.request.scope }
        set { self.uniqueRequest().scope = newValue }
    }
    /// Submission time, Unix milliseconds.
    public var createdAt: Int64 {
        get { self.request.createdAt }
        set { self.uniqueRequest().createdAt = newValue }
    }
    /// Secrets the handler gets; only members of their rings may run the task.
    public var secrets: [TaskSecretUse] {
        get { self.request.secrets }
        set { self.uniqueRequest().secrets = newValue }
    }

    /// Lifecycle state.
    public var status: TaskStatus
    /// Current attempt number; 0 until first assigned.
    public var attempt: UInt32
    /// Delegate holding the current attempt (while held), or the last one that held it.
    public var delegateID: String?
    /// Attempts lost so far (counted against `maxAttempts`).
    public var lostAttempts: UInt32
    /// Last change, Unix milliseconds.
    public var updatedAt: Int64
    /// When it became final, Unix milliseconds.
    public var finishedAt: Int64?
    /// Last progress the delegate reported, 0...100.
    public var progressPercent: UInt32
    /// Last progress message, or why it failed/was cancelled.
    public var message: String
    /// Result output (bounded by the delegate).
    public var output: [UInt8]
    /// Error text of a failed attempt.
    public var error: String
    /// Exit code reported by the delegate.
    public var exitCode: Int32
    /// An admin asked to cancel it while a delegate held it.
    public var cancelRequested: Bool

    private var request: TaskRequest

    /// Creates a queued task.
    public init(
        id: String, accountID: String, type: String, payload: [UInt8], selectors: [String] = [],
        targetDelegateID: String? = nil, timeoutMs: Int64, idempotencyKey: String? = nil, maxAttempts: UInt32,
        submittedBy: String, createdAt: Int64, scope: Scope = .account
    ) {
        self.request = TaskRequest(
            id: id, accountID: accountID, type: type, selectors: selectors, targetDelegateID: targetDelegateID,
            timeoutMs: timeoutMs, idempotencyKey: idempotencyKey, maxAttempts: maxAttempts, submittedBy: submittedBy,
            scope: scope, createdAt: createdAt)
        self.payload = payload
        self.status = .queued
        self.attempt = 0
        self.delegateID = nil
        self.lostAttempts = 0
        self.updatedAt = createdAt
        self.finishedAt = nil
        self.progressPercent = 0
        self.message = ""
        self.output = []
        self.error = ""
        self.exitCode = 0
        self.cancelRequested = false
    }

    /// When the task times out, Unix milliseconds.
    public var deadline: Int64 { self.createdAt + self.timeoutMs }

    /// Bytes of payload and output this record holds: what the live-task memory budget counts.
    public var heldBytes: Int { self.payload.count + self.output.count }

    /// Whether two records hold the same task in the same state.
    public static func == (lhs: TaskRecord, rhs: TaskRecord) -> Bool {
        (lhs.request === rhs.request || lhs.request.sameFields(as: rhs.request)) && lhs.payload == rhs.payload
            && lhs.status == rhs.status && lhs.attempt == rhs.attempt && lhs.delegateID == rhs.delegateID
            && lhs.lostAttempts == rhs.lostAttempts && lhs.updatedAt == rhs.updatedAt
            && lhs.finishedAt == rhs.finishedAt && lhs.progressPercent == rhs.progressPercent
            && lhs.message == rhs.message && lhs.output == rhs.output && lhs.error == rhs.error
            && lhs.exitCode == rhs.exitCode && lhs.cancelRequested == rhs.cancelRequested
    }

    /// The request object, copied first if another record shares it (copy on write).
    private mutating func uniqueRequest() -> TaskRequest {
        if !isKnownUniquelyReferenced(&self.request) { self.request = self.request.copy() }
        return self.request
    }
}

/// The request fields of a task, shared by the copies of its record.
///
/// `@unchecked Sendable`: a record changes these only through `uniqueRequest()`, that is only while no other
/// record (on this or any thread) holds the object; shared, it is never written.
private final class TaskRequest: @unchecked Sendable {
    var id: String
    var accountID: String
    var type: String
    var selectors: [String]
    var targetDelegateID: String?
    var timeoutMs: Int64
    var idempotencyKey: String?
    var maxAttempts: UInt32
    var submittedBy: String
    var scope: Scope
    var createdAt: Int64
    var secrets: [TaskSecretUse] = []

    init(
        id: String, accountID: String, type: String, selectors: [String], targetDelegateID: String?, timeoutMs: Int64,
        idempotencyKey: String?, maxAttempts: UInt32, submittedBy: String, scope: Scope, createdAt: Int64
    ) {
        self.id = id
        self.accountID = accountID
        self.type = type
        self.selectors = selectors
        self.targetDelegateID = targetDelegateID
        self.timeoutMs = timeoutMs
        self.idempotencyKey = idempotencyKey
        self.maxAttempts = maxAttempts
        self.submittedBy = submittedBy
        self.scope = scope
        self.createdAt = createdAt
    }

    func copy() -> TaskRequest {
        let copy = TaskRequest(
            id: self.id, accountID: self.accountID, type: self.type, selectors: self.selectors,
            targetDelegateID: self.targetDelegateID, timeoutMs: self.timeoutMs, idempotencyKey: self.idempotencyKey,
            maxAttempts: self.maxAttempts, submittedBy: self.submittedBy, scope: self.scope, createdAt: self.createdAt)
        copy.secrets = self.secrets
        return copy
    }

    func sameFields(as other: TaskRequest) -> Bool {
        self.id == other.id && self.accountID == other.accountID && self.type == other.type
            && self.selectors == other.selectors && self.targetDelegateID == other.targetDelegateID
            && self.timeoutMs == other.timeoutMs && self.idempotencyKey == other.idempotencyKey
            && self.maxAttempts == other.maxAttempts && self.submittedBy == other.submittedBy
            && self.scope == other.scope && self.createdAt == other.createdAt && self.secrets == other.secrets
    }
}

/// One chunk of an attempt's log, as stored.
public struct TaskLogRecord: Sendable, Equatable {
    /// Task the chunk belongs to.
    public var taskID: String
    /// Attempt that produced it.
    public var attempt: UInt32
    /// Arrival time, Unix milliseconds.
    public var at: Int64
    /// The bytes.
    public var data: [UInt8]

    /// Creates a log chunk record.
    public init(taskID: String, attempt: UInt32, at: Int64, data: [UInt8]) {
        self.taskID = taskID
        self.attempt = attempt
        self.at = at
        self.data = data
    }
}
