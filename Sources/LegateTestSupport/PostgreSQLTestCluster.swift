import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster for the tests: `initdb` into a new directory under /tmp, the server listening
/// on a Unix socket in that directory only (no port to collide on), trust authentication for the `legate` role.
/// PostgreSQL refuses to run as root, so as root every command runs as `nobody` through `runuser` and the
/// directory belongs to `nobody`. A watchdog shell holds a pipe to this process: when the test process ends
/// (however it ends) the pipe closes and the watchdog stops the server and removes the directory.
/// `@unchecked Sendable`: the process and pipe are only touched in `init`; the admin connection is in a Mutex.
public final class PostgreSQLTestCluster: @unchecked Sendable {
    /// Why the cluster could not be set up.
    public struct SetupError: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
    }

    /// The directory holding `data/`, the socket and the server log.
    public let directory: String
    private let binaries: String
    /// Write end of the watchdog's stdin; closed only when this process ends.
    private let watchdogInput: Int32
    /// Serialises schema creation (one `psql` at a time).
    private let admin = Mutex(())

    /// The cluster shared by the whole test run, started on first use.
    public static func shared() throws -> PostgreSQLTestCluster {
        switch Self.sharedCluster {
        case .success(let cluster): return cluster
        case .failure(let error): throw error
        }
    }

    private static let sharedCluster: Result<PostgreSQLTestCluster, SetupError> = {
        do { return .success(try PostgreSQLTestCluster()) } catch let error as SetupError {
            return .failure(error)
        } catch {
            return .failure(SetupError(description: "\(error)"))
        }
    }()

    /// Creates and starts a new cluster (about a second and a half).
    public init() throws {
        guard let binaries = Self.findBinaries() else {
            throw SetupError(
                description: "PostgreSQL server binaries (initdb, pg_ctl) not found; install the postgresql package "
                    + "(.ci/run does) or set LEGATE_PG_BIN to their directory")
        }
        self.binaries = binaries
        self.directory = "/tmp/legate-pg-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(
            atPath: self.directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        if getuid() == 0 {
            try Self.run("/bin/chown", ["nobody", self.directory], asServerUser: false)
        }
        try Self.run(
            "\(binaries)/initdb",
            ["-D", "\(self.directory)/data", "-U", "legate", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        try Self.startServer(binaries: binaries, directory: self.directory)
        // The watchdog reads its stdin until this process ends and the pipe closes, then cleans up. Both ends are
        // close-on-exec, so servers started later do not inherit the write end and keep the pipe open.
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SetupError(description: "pipe failed: errno \(errno)") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        self.watchdogInput = ends[1]
        // The watchdog runs in the background of a shell that exits at once, so it is not a child of this process:
        // an exited child nobody reaps would make Swift Testing's exit-test monitor (which waits for any child
        // without reaping) spin forever. Its stdin is named explicitly: a background list otherwise gets /dev/null.
        let script = "exec 3<&0; (read _ignored <&3; \"$1/pg_ctl\" -D \"$2/data\" -m immediate -w stop "
            + ">/dev/null 2>&1; rm -rf \"$2\") &"
        let (executable, arguments) = Self.command("/bin/sh", ["-c", script, "sh", binaries, self.directory])
        let pid = try Self.spawn(executable, arguments, input: ends[0], output: -1)
        close(ends[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    deinit { close(self.watchdogInput) }

    /// Starts the server and waits (bounded by pg_ctl's 60 s) until it accepts connections.
    public func start() throws { try Self.startServer(binaries: self.binaries, directory: self.directory) }

    private static func startServer(binaries: String, directory: String) throws {
        let options = "-k \(directory) -c listen_addresses= -c fsync=off -c full_page_writes=off -c max_connections=300"
        try Self.run(
            "\(binaries)/pg_ctl",
            ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-o", options, "-w", "-t", "60", "start"])
    }

    /// Stops the server at once, dropping every connection (a crash, from the clients' side).
    public func stop() throws {
        try Self.run("\(self.binaries)/pg_ctl", ["-D", "\(self.directory)/data", "-m", "immediate", "-w", "stop"])
    }

    /// A URL for the `legate` role whose tables go to a new, empty schema: one per store under test.
    public func newStoreURL() throws -> String {
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try self.admin.withLock { _ in
            try Self.run(
                "\(self.binaries)/psql",
                ["-X", "-q", "-h", self.directory, "-U", "legate", "-d", "postgres", "-c", "CREATE SCHEMA \(schema)"],
                asServerUser: false)
        }
        return self.url(schema: schema)
    }

    /// The cluster's URL, with `search_path` set to `schema` when given.
    public func url(schema: String?) -> String {
        let base = "postgresql://legate@/postgres?host=\(self.directory)"
        return schema.map { base + "&options=-csearch_path%3D\($0)" } ?? base
    }

    private static func findBinaries() -> String? {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["LEGATE_PG_BIN"] { candidates.append(configured) }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        candidates += ["/usr/local/bin", "/usr/bin", "/opt/homebrew/bin"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") }
    }

    /// The command line running `executable` as the server's user: `nobody` through runuser when root.
    private static func command(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "nobody", "--", executable] + arguments) : (executable, arguments)
    }

    /// Runs a command to completion, its output in a file read only on failure (a server it starts inherits the
    /// output, so a pipe would never reach its end). posix_spawn and waitpid, not Foundation's Process, whose
    /// exit monitoring can stall inside a test's static initialiser.
    private static func run(_ executable: String, _ arguments: [String], asServerUser: Bool = true) throws {
        let (path, fullArguments) = asServerUser ? Self.command(executable, arguments) : (executable, arguments)
        let outputPath = "/tmp/legate-pg-output-\(UUID().uuidString)"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard output >= 0 else { throw SetupError(description: "cannot create \(outputPath): errno \(errno)") }
        defer { unlink(outputPath) }
        let pid = try Self.spawn(path, fullArguments, input: -1, output: output)
        close(output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw SetupError(
                description: "\(executable) \(arguments.joined(separator: " ")) failed (wait status \(status)): "
                    + text)
        }
    }

    /// Starts `path` with `input` as stdin and `output` as stdout and stderr (/dev/null for -1); returns its pid.
    private static func spawn(_ path: String, _ arguments: [String], input: Int32, output: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input >= 0 {
            posix_spawn_file_actions_adddup2(&actions, input, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if output >= 0 {
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard code == 0 else { throw SetupError(description: "cannot start \(path): error \(code)") }
        return pid
    }
}
