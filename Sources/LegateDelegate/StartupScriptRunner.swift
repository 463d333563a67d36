import Dispatch
import Glibc

/// Runs a profile's startup script with `/bin/sh -c`, off the event loop, with bounded output and a
/// deadline.
///
/// The script runs in its own process group with a clean signal mask, so the deadline can kill it together with
/// anything it started. A script that leaves a daemon in the background is done when `sh` exits: output still
/// in the pipe is collected for a short moment, then the daemon keeps running without us.
public enum StartupScriptRunner {
    /// How a run ended.
    public struct Outcome: Sendable, Equatable {
        /// The exit status; -1 when it could not start, was killed or timed out.
        public var exitCode: Int32
        /// Combined stdout and stderr, at most `maxOutputBytes`.
        public var output: [UInt8]
        /// Why it did not run to an exit status, if so.
        public var error: String
        /// Wall time it took.
        public var duration: Duration
    }

    /// Output beyond this is read and dropped (64 KiB).
    public static let maxOutputBytes = 64 * 1024
    /// Scripts still running after this are killed (with their process group). Default 10 min.
    public static let defaultTimeout: Duration = .seconds(600)
    /// After `sh` exits, how long output still in the pipe is awaited.
    static let drainAfterExit: Duration = .milliseconds(300)

    /// Runs `script` on a global queue and calls `completion` there once it ended.
    public static func run(
        _ script: String, timeout: Duration = Self.defaultTimeout,
        completion: @escaping @Sendable (Outcome) -> Void
    ) {
        DispatchQueue.global().async { completion(Self.runBlocking(script, timeout: timeout)) }
    }

    /// Runs `script` and blocks until it ended (never call it on an event loop).
    public static func runBlocking(_ script: String, timeout: Duration = Self.defaultTimeout) -> Outcome {
        let started = ContinuousClock.now
        func failed(_ error: String, output: [UInt8] = []) -> Outcome {
            Outcome(exitCode: -1, output: output, error: error, duration: ContinuousClock.now - started)
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return failed("cannot create a pipe: errno \(errno)") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Not inherited by other children this process spawns meanwhile (the child gets dup2'ed copies).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        guard let pid = Self.spawn(script, stdoutAndStderr: writeEnd) else {
            let code = errno
            close(writeEnd)
            close(readEnd)
            return failed("cannot start /bin/sh: errno \(code)")
        }
        close(writeEnd)
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var status: Int32 = 0
        var exited = false
        var exitedAt = started
        var timedOut = false
        var endOfFile = false
        let deadline = started + timeout
        while true {
            // Read whatever is there; bytes past the limit are read and dropped so the script never blocks.
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count > 0 {
                    let room = Self.maxOutputBytes - output.count
                    if room > 0 { output += buffer.prefix(min(room, count)) }
                    continue
                }
                endOfFile = count == 0
                break
            }
            if !exited, waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                exitedAt = ContinuousClock.now
            }
            let now = ContinuousClock.now
            if exited, endOfFile || now >= exitedAt + Self.drainAfterExit { break }
            if !exited, now >= deadline {
                timedOut = true
                kill(-pid, SIGKILL)  // the whole group: sh and everything it started
                _ = waitpid(pid, &status, 0)
                break
            }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, endOfFile ? 10 : 50)  // after EOF only the exit is awaited
        }
        Self.release(readEnd, atEndOfFile: endOfFile)
        let duration = ContinuousClock.now - started
        if timedOut {
            return Outcome(
                exitCode: -1, output: output, error: "timed out after \(timeout); killed", duration: duration)
        }
        let signal = status & 0x7F
        if signal != 0 {
            return Outcome(exitCode: -1, output: output, error: "killed by signal \(signal)", duration: duration)
        }
        return Outcome(exitCode: (status >> 8) & 0xFF, output: output, error: "", duration: duration)
    }

    /// Closes the read end; while something the script started in the background still holds the pipe, it is
    /// drained (and the bytes dropped) on a background queue first, so that daemon never dies of SIGPIPE.
    private static func release(_ readEnd: Int32, atEndOfFile: Bool) {
        guard !atEndOfFile else {
            close(readEnd)
            return
        }
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) & ~O_NONBLOCK)
        DispatchQueue(label: "legate.startup-script.drain").async {
            var sink = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = sink.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count == 0 || (count < 0 && errno != EINTR) { break }
            }
            close(readEnd)
        }
    }

    /// posix_spawn of `/bin/sh -c script` in a new process group, default signal handling and an empty signal
    /// mask, stdin from /dev/null, stdout and stderr to `fd`. Nil (errno set) when it could not start.
    private static func spawn(_ script: String, stdoutAndStderr fd: Int32) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let words: [String] = ["/bin/sh", "-c", script]
        let arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) }
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, arguments + [nil], environ)
        guard result == 0 else {
            errno = result
            return nil
        }
        return pid
    }
}
