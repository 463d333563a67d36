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
public struct TaskRecord: Sendable, Equatable {
    /// Task identifier (`tsk_...`).
    public var id: String
    /// Owning account; only this account's delegates may run it.
    public var accountID: String
    /// Task type; the delegate must support it.
    public var type: String
    /// Opaque payload handed to the delegate's handler.
    public var payload: [UInt8]
    /// Tags an eligible delegate must all have.
    public var selectors: [String]
    /// Only this delegate may run it, when set.
    public var targetDelegateID: String?
    /// Time from submission to a final result, milliseconds.
    public var timeoutMs: Int64
    /// Submitting the same key again returns this task.
    public var idempotencyKey: String?
    /// Attempts that may be lost (delegate gone, lease expired) before the task fails.
    public var maxAttempts: UInt32
    /// Who submitted it (`admin:<key id>`).
    public var submittedBy: String
    /// The submitting key's scope: only delegates whose token scope covers it may run the task, and only keys
    /// whose scope covers it may see it.
    public var scope: Scope
    /// Submission time, Unix milliseconds.
    public var createdAt: Int64
    /// Secrets the handler gets; only members of their rings may run the task.
    public var secrets: [TaskSecretUse] = []

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

    /// Creates a queued task.
    public init(
        id: String, accountID: String, type: String, payload: [UInt8], selectors: [String] = [],
        targetDelegateID: String? = nil, timeoutMs: Int64, idempotencyKey: String? = nil, maxAttempts: UInt32,
        submittedBy: String, createdAt: Int64, scope: Scope = .account
    ) {
        self.scope = scope
        self.id = id
        self.accountID = accountID
        self.type = type
        self.payload = payload
        self.selectors = selectors
        self.targetDelegateID = targetDelegateID
        self.timeoutMs = timeoutMs
        self.idempotencyKey = idempotencyKey
        self.maxAttempts = maxAttempts
        self.submittedBy = submittedBy
        self.createdAt = createdAt
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
