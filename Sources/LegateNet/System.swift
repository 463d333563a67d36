#if canImport(Glibc)
internal import Glibc
#endif
internal import Foundation
public import Dispatch

/// Wall-clock time for JWT claims and audit rows (monotonic time lives on EventLoop.now).
public enum WallClock {
    /// Seconds since 1970-01-01 UTC.
    public static func unixSeconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }

    /// Milliseconds since 1970-01-01 UTC.
    public static func unixMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// Process-level facts and knobs.
public enum System {
    /// Number of online CPU cores (at least 1).
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Raises the soft open-file limit to the hard limit; returns the resulting soft limit.
    public static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
            _ = getrlimit(RLIMIT_NOFILE_VALUE, &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// The current soft open-file limit (0 when it cannot be read).
    public static var openFileLimit: Int {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return 0 }
        return Int(clamping: limit.rlim_cur)
    }

    /// Descriptors kept back from connections for the store (database, -wal, -shm), logs, the listener, epoll
    /// and Dispatch: 64, or 2 % of the limit when that is more.
    public static func reservedDescriptors(openFileLimit: Int) -> Int {
        max(64, openFileLimit / 50)
    }

    /// The connection cap an open-file limit allows: the limit minus `reservedDescriptors` (at least 1).
    public static func connectionCap(openFileLimit: Int) -> Int {
        max(1, openFileLimit - Self.reservedDescriptors(openFileLimit: openFileLimit))
    }

    /// Ignores SIGPIPE process-wide, so a write to a pipe or socket whose reader has gone returns EPIPE instead
    /// of killing the process. Idempotent; executables call it first thing.
    public static func ignoreBrokenPipe() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    private static var RLIMIT_NOFILE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}

extension Duration {
    /// Whole nanoseconds, clamped to Int.
    public var nanoseconds: Int {
        let (seconds, attoseconds) = self.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int.min : Int.max }
        return Int(clamping: product + attoseconds / 1_000_000_000)
    }

    /// A DispatchTimeInterval for timers and semaphore waits.
    public var dispatchInterval: DispatchTimeInterval { .nanoseconds(max(0, self.nanoseconds)) }
}
