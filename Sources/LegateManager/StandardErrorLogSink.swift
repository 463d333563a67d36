import LegateCore
import LegateNet
import Synchronization

/// Writes log lines to standard error, one per call, as `time level message key=value ...` or as one JSON object
/// (`LogLineFormat`); the time comes from the injected clock.
///
/// Never traps and never blocks: a line the descriptor cannot take (full disk, reader gone, reader not keeping
/// up) is dropped and counted in `droppedLines`.
public final class StandardErrorLogSink: LogSink {
    private let minimumLevel: LogLevel
    private let format: LogLineFormat
    private let writer: OutputWriter
    private let clock: any ServiceClock

    /// Creates a sink that drops lines below `minimumLevel` and writes the others in `format`; `writer` defaults to
    /// the process's standard error. Ignores SIGPIPE process-wide, so a log pipe whose reader has gone cannot kill
    /// the process.
    public init(
        minimumLevel: LogLevel = .info, format: LogLineFormat = .text, writer: OutputWriter = .standardError,
        clock: any ServiceClock = SystemClock()
    ) {
        self.minimumLevel = minimumLevel
        self.format = format
        self.writer = writer
        self.clock = clock
        System.ignoreBrokenPipe()
    }

    /// Lines that could not be written so far.
    public var droppedLines: Int { self.writer.droppedCount }

    /// Whether lines at `level` are written (at or above the minimum level).
    public func isEnabled(_ level: LogLevel) -> Bool { level >= self.minimumLevel }

    /// Writes one line if it is at or above the minimum level.
    public func log(_ level: LogLevel, _ message: String, _ metadata: [String: String]) {
        guard level >= self.minimumLevel else { return }
        self.writer.write(
            self.format.line(
                unixMilliseconds: self.clock.unixMilliseconds(), level: level, message: message, metadata: metadata))
    }
}

/// Keeps log lines in memory so tests can assert what was, and was not, logged.
public final class InMemoryLogSink: LogSink {
    /// One recorded line.
    public struct Line: Sendable, Equatable {
        /// Severity.
        public let level: LogLevel
        /// Message text.
        public let message: String
        /// Metadata fields.
        public let metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])

    /// Creates an empty sink.
    public init() {}

    /// Records the line.
    public func log(_ level: LogLevel, _ message: String, _ metadata: [String: String]) {
        self.lines.withLock { $0.append(Line(level: level, message: message, metadata: metadata)) }
    }

    /// Everything recorded so far.
    public var recorded: [Line] {
        self.lines.withLock { $0 }
    }

    /// Every recorded line flattened to text, for searching.
    public var text: String {
        self.recorded.map { line in
            ([line.message] + line.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                .joined(separator: " ")
        }.joined(separator: "\n")
    }
}
