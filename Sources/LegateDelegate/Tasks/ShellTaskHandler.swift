import Foundation
import LegateCore

/// Type `shell`: runs one command (no shell, unless the command is a shell itself) and reports its output.
///
/// Payload: a UTF-8 JSON object
/// ```
/// {"command": "/bin/ls",            required; absolute path, or a name looked up in the delegate's PATH
///  "arguments": ["-l"],             optional, default []; passed as they are (no globbing, no quoting)
///  "workingDirectory": "/tmp",      optional, default the delegate's; must exist
///  "environment": {"K": "V"},       optional; added to (overriding) the delegate's environment
///  "timeoutMs": 5000,               optional, 0 or absent: only the assignment's timeout applies
///  "maxOutputBytes": 65536}         optional, default 65536, at most 524288 (the result must fit in one frame)
/// ```
/// Unknown keys are ignored. For a pipeline use `{"command": "/bin/sh", "arguments": ["-c", "a | b"]}`.
///
/// Behaviour: stdout and stderr are interleaved into one stream, sent live as log chunks and captured as the
/// result's output up to `maxOutputBytes` (then cut, ending with "[output truncated at N bytes]"). Exit 0 is
/// SUCCEEDED; another exit code is FAILED with `exit_code` set (128 + signal when killed by a signal).
/// `timeoutMs` hit: TIMED_OUT. Cancellation (TASK_CANCEL, the assignment's timeout, connection lost) sends
/// SIGTERM to the command's process group, SIGKILL 2 s later, so its children die too; children still running
/// when the command exits are killed (no daemons: a task ends with its command). A missing command,
/// malformed JSON or a missing working directory is FAILED with a message saying which.
public struct ShellTaskHandler: TaskHandler {
    /// The decoded payload.
    public struct Payload: Codable, Sendable, Equatable {
        /// The program to run.
        public var command: String
        /// Its arguments.
        public var arguments: [String]?
        /// Where to run it.
        public var workingDirectory: String?
        /// Extra environment variables.
        public var environment: [String: String]?
        /// The command's own time limit in milliseconds.
        public var timeoutMs: UInt32?
        /// Output bound in bytes.
        public var maxOutputBytes: Int?

        /// Creates a payload.
        public init(
            command: String, arguments: [String]? = nil, workingDirectory: String? = nil,
            environment: [String: String]? = nil, timeoutMs: UInt32? = nil, maxOutputBytes: Int? = nil
        ) {
            self.command = command
            self.arguments = arguments
            self.workingDirectory = workingDirectory
            self.environment = environment
            self.timeoutMs = timeoutMs
            self.maxOutputBytes = maxOutputBytes
        }

        /// The payload as JSON bytes (for submitting tasks).
        public func encoded() -> [UInt8] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
        }
    }

    /// Output bound when the payload gives none: 64 KiB.
    public static let defaultMaxOutputBytes = 64 << 10
    /// Largest output bound a payload may ask for: 512 KiB (a `TaskResult` must fit in one 1 MiB frame).
    public static let maxOutputBytesCeiling = 512 << 10

    /// Always `shell`.
    public let type = "shell"
    /// SIGTERM-to-SIGKILL grace on cancellation and timeout. Default 2 s.
    public var terminationGrace: Duration

    /// Creates the handler.
    public init(terminationGrace: Duration = .seconds(2)) {
        self.terminationGrace = terminationGrace
    }

    /// Decodes and checks a payload.
    public static func decode(_ payload: [UInt8]) throws(TaskError) -> ProcessSpec {
        let decoded: Payload
        do {
            decoded = try JSONDecoder().decode(Payload.self, from: Data(payload))
        } catch {
            throw .invalidPayload(
                type: "shell", reason: "expected a JSON object with at least \"command\" (\(Self.why(error)))")
        }
        guard !decoded.command.isEmpty else {
            throw .invalidPayload(type: "shell", reason: "\"command\" is empty; give the program to run")
        }
        let limit = decoded.maxOutputBytes ?? Self.defaultMaxOutputBytes
        guard limit >= 0, limit <= Self.maxOutputBytesCeiling else {
            throw .invalidPayload(
                type: "shell",
                reason: "maxOutputBytes \(limit) is outside 0...\(Self.maxOutputBytesCeiling); lower it")
        }
        let timeout = decoded.timeoutMs.flatMap { $0 == 0 ? nil : Duration.milliseconds(Int64($0)) }
        return ProcessSpec(
            command: decoded.command, arguments: decoded.arguments ?? [], workingDirectory: decoded.workingDirectory,
            environment: decoded.environment ?? [:], timeout: timeout, maxOutputBytes: limit)
    }

    /// Runs the command; see the type's documentation for the mapping to outcomes.
    public func run(_ task: TaskExecution, context: TaskContext) async throws -> TaskOutput {
        var spec = try Self.decode(task.payload)
        spec.terminationGrace = self.terminationGrace
        spec.environment.merge(task.secretEnvironment) { _, secret in secret }
        let outcome = try await ProcessRunner.run(spec) { chunk in context.appendLog(chunk) }
        switch outcome.ending {
        case .cancelled:
            throw CancellationError()
        case .timedOut:
            let limit = spec.timeout.map { "\($0.wireMilliseconds) ms" } ?? "its limit"
            throw TaskError.timedOut(
                message: "'\(spec.command)' ran longer than timeoutMs (\(limit)) and was killed; raise timeoutMs",
                output: outcome.output)
        case .exited:
            break
        }
        guard outcome.exitCode == 0 else {
            let how = outcome.signal.map { "was killed by signal \($0)" } ?? "exited with status \(outcome.exitCode)"
            throw TaskError.failed(
                message: "'\(spec.command)' \(how)", exitCode: outcome.exitCode, output: outcome.output)
        }
        return TaskOutput(output: outcome.output, exitCode: 0)
    }

    private static func why(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _):
            return "\"\(key.stringValue)\" is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "\"\(path)\" has the wrong type"
        case DecodingError.dataCorrupted:
            return "not valid JSON"
        default:
            return "\(error)"
        }
    }
}
