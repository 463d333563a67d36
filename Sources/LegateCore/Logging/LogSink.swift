/// Severity of a log line.
public enum LogLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case debug, info, warning, error

    /// Orders levels from least to most severe.
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Lowercase name, as printed.
    public var description: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warning: return "warning"
        case .error: return "error"
        }
    }
}

/// Where components send log lines. Metadata keys are dotted (`delegate.id`, `token.id`).
/// Implementations must never be handed a token value, JWT or key: callers pass ids and redacted forms only.
public protocol LogSink: Sendable {
    /// Records one line; may be called from any thread.
    func log(_ level: LogLevel, _ message: String, _ metadata: [String: String])
    /// Whether a line at `level` would be recorded; callers on hot paths check it before building a debug line.
    func isEnabled(_ level: LogLevel) -> Bool
}

extension LogSink {
    /// Every level is recorded unless the sink says otherwise.
    public func isEnabled(_ level: LogLevel) -> Bool { true }

    /// Records a debug line, building its message and metadata only when debug lines are recorded.
    public func debug(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String]) {
        guard self.isEnabled(.debug) else { return }
        self.log(.debug, message(), metadata())
    }

    /// Records one line without metadata.
    public func log(_ level: LogLevel, _ message: String) {
        self.log(level, message, [:])
    }
}

/// A sink that drops everything.
public struct DiscardingLogSink: LogSink {
    /// Creates the sink.
    public init() {}

    /// Drops the line.
    public func log(_ level: LogLevel, _ message: String, _ metadata: [String: String]) {}

    /// Nothing is recorded.
    public func isEnabled(_ level: LogLevel) -> Bool { false }
}
