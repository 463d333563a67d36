import Synchronization

/// One task attempt as a handler sees it (decoded from a TASK_ASSIGN push, Proto/legate.proto `TaskAssignment`).
public struct TaskExecution: Sendable, Equatable {
    /// The task's id (manager-assigned).
    public var taskID: String
    /// The attempt number (1, 2, ...); only the current attempt may report.
    public var attempt: UInt32
    /// The task type, which picked the handler.
    public var type: String
    /// The opaque payload; its format belongs to the handler (see `ShellTaskHandler` for `shell`).
    public var payload: [UInt8]
    /// The assignment's timeout; nil means no limit. The runner enforces it, handlers need not.
    public var timeout: Duration?
    /// Secret values opened for this attempt only, by environment variable name (`shell` adds them to the
    /// command's environment). Never logged; output and logs are masked before they leave.
    public var secretEnvironment: [String: String] = [:]

    /// Creates an execution (tests and embedders; the runner builds it from the assignment).
    public init(taskID: String, attempt: UInt32, type: String, payload: [UInt8], timeout: Duration? = nil) {
        self.taskID = taskID
        self.attempt = attempt
        self.type = type
        self.payload = payload
        self.timeout = timeout
    }
}

/// What a handler returns on success; becomes a `TaskResult` with outcome SUCCEEDED.
public struct TaskOutput: Sendable, Equatable {
    /// The result bytes (`TaskResult.output`); keep it well under the frame limit (1 MiB by default).
    public var output: [UInt8]
    /// The exit code to report (0 unless the handler ran a process).
    public var exitCode: Int32

    /// Creates an output.
    public init(output: [UInt8] = [], exitCode: Int32 = 0) {
        self.output = output
        self.exitCode = exitCode
    }
}

/// Runs tasks of one type. Handlers are `Sendable`, may run concurrently (up to the delegate's capacity) and
/// must honour Swift cooperative cancellation: the runner cancels the handler's Task on TASK_CANCEL, on the
/// assignment's timeout and when the connection is lost, and reports the attempt only once `run` returns.
///
/// Throw `TaskError.failed` (with an exit code and output if any) for a failure with a clean message; any other
/// error becomes FAILED with its description; `CancellationError` becomes CANCELLED.
public protocol TaskHandler: Sendable {
    /// The task type this handler serves (e.g. `echo`); announced to the manager in `RegisterRequest.task_types`.
    var type: String { get }
    /// Runs one attempt; report progress and log lines through `context`.
    func run(_ task: TaskExecution, context: TaskContext) async throws -> TaskOutput
}

/// Why a task attempt did not succeed, or could not be taken.
public enum TaskError: Error, Equatable, CustomStringConvertible {
    /// The work failed; `exitCode` and `output` go into the `TaskResult`.
    case failed(message: String, exitCode: Int32, output: [UInt8])
    /// The handler's own time limit hit (the outcome is TIMED_OUT).
    case timedOut(message: String, output: [UInt8])
    /// The payload is not what the handler of `type` accepts.
    case invalidPayload(type: String, reason: String)
    /// A process could not be started.
    case cannotLaunch(command: String, reason: String)
    /// No handler for the type on this delegate.
    case unsupportedType(String, supported: [String])
    /// Every slot is busy.
    case atCapacity(Int)

    /// A sentence saying what happened and what to do.
    public var description: String {
        switch self {
        case .failed(let message, _, _):
            return message
        case .timedOut(let message, _):
            return message
        case .invalidPayload(let type, let reason):
            return "the \(type) task payload is invalid: \(reason)"
        case .cannotLaunch(let command, let reason):
            return "cannot start '\(command)': \(reason)"
        case .unsupportedType(let type, let supported):
            let list = supported.isEmpty ? "none" : supported.joined(separator: ", ")
            return "task type \(type) is not supported by this delegate (supports: \(list))"
        case .atCapacity(let capacity):
            return "delegate at capacity \(capacity): it already runs \(capacity) tasks; the manager should "
                + "route by free_capacity or the delegate should run with a larger --capacity"
        }
    }
}

/// The handlers a delegate runs, by task type. Thread-safe; register before the delegate starts.
public final class TaskHandlerRegistry: Sendable {
    private let handlers = Mutex<[String: any TaskHandler]>([:])

    /// Creates a registry holding `handlers` (a later one with the same type replaces an earlier one).
    public init(_ handlers: [any TaskHandler] = []) {
        for handler in handlers { self.register(handler) }
    }

    /// Adds `handler` for its type, replacing any handler registered for that type.
    public func register(_ handler: any TaskHandler) {
        self.handlers.withLock { $0[handler.type] = handler }
    }

    /// The handler for `type`, if any.
    public func handler(for type: String) -> (any TaskHandler)? {
        self.handlers.withLock { $0[type] }
    }

    /// The registered types, sorted (what the delegate announces unless configured otherwise).
    public var types: [String] {
        self.handlers.withLock { $0.keys.sorted() }
    }

    /// The names `builtIn(named:)` knows: `echo`, `shell`.
    public static let builtInTypes = ["echo", "shell"]

    /// The built-in handler called `name` (`echo` or `shell`), or nil for any other name.
    public static func builtIn(named name: String) -> (any TaskHandler)? {
        switch name {
        case "echo": return EchoTaskHandler()
        case "shell": return ShellTaskHandler()
        default: return nil
        }
    }
}

/// Type `echo`: succeeds at once with the payload as output (load tests, smoke tests).
public struct EchoTaskHandler: TaskHandler {
    /// Always `echo`.
    public let type = "echo"

    /// Creates the handler.
    public init() {}

    /// Returns the payload unchanged.
    public func run(_ task: TaskExecution, context: TaskContext) async throws -> TaskOutput {
        TaskOutput(output: task.payload)
    }
}
