#if canImport(Glibc)
internal import Glibc
#endif
internal import Synchronization

/// Writes whole lines to a file descriptor with plain write(2) and never traps: a full disk, a pipe whose
/// reader has gone or a closed descriptor drops the line and counts it instead (Foundation's
/// `FileHandle.write` traps on every one of those).
///
/// Thread-safe: a lock keeps the lines of concurrent callers whole and in order.
public final class OutputWriter: Sendable {
    /// What to do when the descriptor cannot take more bytes right now (a pipe whose reader is slow).
    public enum WhenFull: Sendable, Equatable {
        /// Drop the rest of the line: logging from a server must never stall the caller.
        case drop
        /// Wait for the reader, as a command-line tool printing its results does.
        case wait
    }

    /// The process's standard error for log lines: never blocks, drops when the reader is not keeping up.
    public static let standardError = OutputWriter(fileDescriptor: 2, whenFull: .drop)
    /// The process's standard output for results: waits for a slow reader, drops only on errors.
    public static let standardOutput = OutputWriter(fileDescriptor: 1, whenFull: .wait)

    /// The most `EINTR` retries of one write before the line is given up (a signal storm cannot spin us).
    static let maxInterruptedRetries = 64
    /// Bytes handed to one write(2) when dropping on a full pipe: Linux pipes accept up to this much without
    /// blocking once poll(2) reports them writable.
    static let nonBlockingChunkBytes = 4096

    private let fd: Int32
    private let whenFull: WhenFull
    private let dropped = Atomic<Int>(0)
    private let lock = Mutex(())

    /// A writer over `fileDescriptor`, which it does not own (never closes).
    public init(fileDescriptor: Int32, whenFull: WhenFull) {
        self.fd = fileDescriptor
        self.whenFull = whenFull
    }

    /// Lines (or parts of lines) dropped so far because the descriptor refused them.
    public var droppedCount: Int { self.dropped.load(ordering: .relaxed) }

    /// Writes `text` as UTF-8; false when it was dropped (in whole or in part).
    @discardableResult
    public func write(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { self.write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes`; false when they were dropped (in whole or in part).
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { self.write($0) }
    }

    /// Writes the bytes in `buffer`, finishing partial writes; false when they were dropped.
    @discardableResult
    public func write(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard !buffer.isEmpty else { return true }
        let written = self.lock.withLock { _ in self.writeAll(buffer) }
        if !written { self.dropped.add(1, ordering: .relaxed) }
        return written
    }

    private func writeAll(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        var offset = 0
        var interrupts = 0
        while offset < buffer.count {
            var count = buffer.count - offset
            if self.whenFull == .drop {
                guard self.isWritableNow() else { return false }
                count = min(count, Self.nonBlockingChunkBytes)
            }
            let n = Glibc.write(self.fd, base + offset, count)
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && errno == EINTR && interrupts < Self.maxInterruptedRetries {
                interrupts += 1
                continue
            }
            // EAGAIN (a non-blocking descriptor), EPIPE (the reader has gone; SIGPIPE is ignored),
            // ENOSPC, EIO, EBADF, or a write of 0 bytes: the line cannot be delivered now.
            return false
        }
        return true
    }

    /// poll(2) with no wait: true when a write would not block (always for regular files and terminals).
    private func isWritableNow() -> Bool {
        var entry = pollfd(fd: self.fd, events: Int16(POLLOUT), revents: 0)
        for _ in 0..<Self.maxInterruptedRetries {
            let ready = poll(&entry, 1, 0)
            if ready < 0 && errno == EINTR { continue }
            // POLLERR/POLLHUP without POLLOUT (reader gone) also land here as "not writable".
            return ready > 0 && entry.revents & Int16(POLLOUT) != 0
        }
        return false
    }
}
