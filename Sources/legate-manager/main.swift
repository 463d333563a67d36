// legate-manager: parses flags, builds a ManagerConfiguration, runs a Manager until SIGINT/SIGTERM.
import Dispatch
import Foundation
import LegateCommandLine
import LegateCore
import LegateManager
import LegateNet
import Synchronization

let usage = """
    usage: legate-manager [options]
    every option can also come from the environment (--data-dir: LEGATE_DATA_DIR; LEGATE_HTTP_PLAIN=true)
    or from a --config FILE (LEGATE_CONFIG) of `key = value` lines (data_dir = /var/lib/legate, # comments);
    a flag wins over the environment, which wins over the file.
           legate-manager backup --to FILE [--data-dir DIR]   (see legate-manager backup --help)
      --host ADDR                 address to bind (default 127.0.0.1)
      --port N                    port (default 7443; 0 = any free port)
      --data-dir DIR              SQLite database, master key, dev certificate (default ./legate-data)
      --store STORE               sqlite (legate.db in --data-dir, the default) or postgresql://user@host:port/db
                                  (a password is better in PGPASSWORD)
      --cert PEM --key PEM        TLS certificate chain and key (default: a generated dev certificate)
      --client-ca PEM             require client certificates signed by this CA (mutual TLS)
      --audience AUD              JWT audience delegates must use (default legate-manager)
      --heartbeat-interval S      seconds between heartbeats announced to delegates (default 10)
      --heartbeat-grace S         silence after which a delegate is disconnected (default 3 intervals)
      --pending-expiry S          seconds a registration waits for approval before it is rejected (default 86400)
      --max-connections N         (default 20000, lower when the open-file limit leaves less room)
      --connection-rate N         new connections per second per address, burst 10x (default 200; 0 = no limit)
      --audit-retention-days N    days audit rows are kept (default 90; 0 = keep every row)
      --event-loops N             (default: one per core)
      --max-task-payload-bytes N  largest task payload accepted at submit (default 1048576)
      --max-live-task-bytes N     payload and output bytes all queued and running tasks may hold together;
                                  submissions beyond are refused until some finish (default 1073741824)
      --log-level LEVEL           debug|info|warning|error (default info)
      --log-format FORMAT         text (time level message key=value) or json (one object per line; default text)
      --http-port N               serve /metrics, /livez, /readyz and the web console /console on this port (default: off)
      --http-host ADDR            address of the HTTP endpoint (default 127.0.0.1)
      --http-plain                plain HTTP instead of HTTPS with the manager's certificate (loopback only)
      --node-id ID                this manager's id among those sharing a PostgreSQL store (default: node-id
                                  in --data-dir, created on first start)
      --advertise HOST:PORT       the address other managers list for this one (default: --host:--port)
      --node-lease S              seconds after which a silent manager's delegates are cleared (default 15)
      --version                   print the version
    \(adminKeyUsage)
    """

/// Writes a line to standard output unbuffered, so scripts reading a pipe see the address at once.
func say(_ line: String) {
    OutputWriter.standardOutput.write(line + "\n")
}

/// The flags that take a value; each is also a `--config` key and a `LEGATE_` environment variable.
let settingFlags: Set<String> = [
    "--host", "--port", "--data-dir", "--cert", "--key", "--client-ca", "--audience",
    "--heartbeat-interval", "--heartbeat-grace", "--pending-expiry", "--max-connections", "--connection-rate",
    "--event-loops", "--log-level", "--log-format", "--audit-retention-days", "--max-task-payload-bytes",
    "--max-live-task-bytes", "--http-port", "--http-host", "--store", "--node-id", "--advertise", "--node-lease",
]

/// The command line, beneath it the environment (`LEGATE_DATA_DIR`...), beneath that the `--config` file
/// (`LEGATE_CONFIG`): a flag wins over the environment, which wins over the file.
func layeredArguments() throws -> [String] {
    let commandLine = Array(CommandLine.arguments.dropFirst())
    let environment = ProcessInfo.processInfo.environment
    let first = try CommandLineArguments(
        commandLine, valueFlags: settingFlags.union(["--config"]), switchFlags: ["--help", "--version", "--http-plain"])
    var file: [String: String] = [:]
    if let path = first.string("--config") ?? environment["LEGATE_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandLineArguments.ParseError.invalidValue(
                flag: "--config", value: path, expected: "a readable file of key = value lines")
        }
        let keys = Set((settingFlags.union(["--http-plain"])).map(SettingsFile.key(ofFlag:)))
        file = try SettingsFile.parse(text, path: path, keys: keys, program: "legate-manager")
    }
    return SettingsFile.layeredArguments(
        file: file, environment: environment, valueFlags: settingFlags, switchFlags: ["--http-plain"]) + commandLine
}

func parseConfiguration(openFileLimit: Int) throws -> (ManagerConfiguration, LogLevel, LogLineFormat) {
    let arguments = try CommandLineArguments(
        try layeredArguments(), valueFlags: settingFlags.union(["--config"]),
        switchFlags: ["--help", "--version", "--http-plain"])
    if arguments.isSet("--help") {
        say(usage)
        exit(0)
    }
    if arguments.isSet("--version") {
        say("legate-manager \(LegateVersion.current)")
        exit(0)
    }
    if let extra = arguments.positionals.first { throw CommandLineArguments.ParseError.unknownFlag(extra) }
    var configuration = ManagerConfiguration.defaults
    configuration.host = arguments.string("--host") ?? configuration.host
    configuration.port = try arguments.integer("--port", default: configuration.port)
    configuration.dataDirectory = arguments.string("--data-dir") ?? configuration.dataDirectory
    let store = arguments.string("--store") ?? "sqlite"
    if store.hasPrefix("postgresql://") || store.hasPrefix("postgres://") {
        configuration.storeURL = store
    } else if store != "sqlite" {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--store", value: store.contains("@") ? "(not shown: it may hold a password)" : store,
            expected: "sqlite or postgresql://user@host:port/database")
    }
    configuration.certificateFile = try arguments.readableFile("--cert")
    configuration.privateKeyFile = try arguments.readableFile("--key")
    configuration.clientCAFile = try arguments.readableFile("--client-ca")
    configuration.audience = arguments.string("--audience") ?? configuration.audience
    configuration.maxConnections = try arguments.integer(
        "--max-connections", default: min(configuration.maxConnections, System.connectionCap(openFileLimit: openFileLimit)))
    configuration.eventLoops = try arguments.integer("--event-loops", default: 0)
    let rate = try arguments.integer("--connection-rate", default: 200)
    guard rate >= 0 else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--connection-rate", value: "\(rate)", expected: "0 (no limit) or a positive rate")
    }
    configuration.connectionRate.perSecond = Double(rate)
    configuration.connectionRate.burst = Double(rate) * 10
    let interval = try arguments.seconds("--heartbeat-interval", default: configuration.connection.heartbeatInterval)
    configuration.connection.heartbeatInterval = interval
    configuration.connection.heartbeatGrace = try arguments.seconds("--heartbeat-grace", default: interval * 3)
    configuration.pendingExpiry = try arguments.seconds("--pending-expiry", default: configuration.pendingExpiry)
    let retentionDays = try arguments.integer("--audit-retention-days", default: 90)
    guard retentionDays >= 0 else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--audit-retention-days", value: "\(retentionDays)", expected: "0 (keep every row) or a number of days")
    }
    configuration.auditRetention.days = retentionDays == 0 ? nil : retentionDays
    configuration.tasks.maxPayloadBytes = try arguments.integer(
        "--max-task-payload-bytes", default: configuration.tasks.maxPayloadBytes)
    guard configuration.tasks.maxPayloadBytes >= 0 else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--max-task-payload-bytes", value: "\(configuration.tasks.maxPayloadBytes)",
            expected: "0 or more bytes")
    }
    configuration.tasks.maxLiveTaskBytes = try arguments.integer(
        "--max-live-task-bytes", default: configuration.tasks.maxLiveTaskBytes)
    guard configuration.tasks.maxLiveTaskBytes > 0 else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--max-live-task-bytes", value: "\(configuration.tasks.maxLiveTaskBytes)",
            expected: "a positive number of bytes")
    }
    if let httpPort = arguments.string("--http-port") {
        guard let port = Int(httpPort) else {
            throw CommandLineArguments.ParseError.invalidValue(flag: "--http-port", value: httpPort, expected: "a port")
        }
        configuration.http = HTTPEndpointConfiguration(
            port: port, host: arguments.string("--http-host") ?? "127.0.0.1", plain: arguments.isSet("--http-plain"))
    } else if arguments.isSet("--http-plain") || arguments.string("--http-host") != nil {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--http-host/--http-plain", value: "set", expected: "--http-port N as well")
    }
    configuration.nodes.nodeID = arguments.string("--node-id")
    configuration.nodes.advertisedAddress = arguments.string("--advertise")
    configuration.nodes.lease = try arguments.seconds("--node-lease", default: configuration.nodes.lease)
    let levels: [String: LogLevel] = ["debug": .debug, "info": .info, "warning": .warning, "error": .error]
    let levelName = arguments.string("--log-level") ?? "info"
    guard let level = levels[levelName] else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--log-level", value: levelName, expected: "debug, info, warning or error")
    }
    let formatName = arguments.string("--log-format") ?? "text"
    guard let format = LogLineFormat(rawValue: formatName) else {
        throw CommandLineArguments.ParseError.invalidValue(flag: "--log-format", value: formatName, expected: "text or json")
    }
    return (configuration, level, format)
}

let commandWords = Array(CommandLine.arguments.dropFirst())
if commandWords.first == "admin-key" { exit(runAdminKeyCommand(Array(commandWords.dropFirst()))) }

// First of all: a log or output pipe whose reader has gone must give EPIPE, not kill the manager, and the
// connection cap below is derived from the raised open-file limit.
System.ignoreBrokenPipe()
if CommandLine.arguments.dropFirst().first == "backup" {
    exit(runBackupCommand(Array(CommandLine.arguments.dropFirst(2))))
}
let openFileLimit = System.raiseOpenFileLimit()

let configuration: ManagerConfiguration
let logLevel: LogLevel
let logFormat: LogLineFormat
do {
    (configuration, logLevel, logFormat) = try parseConfiguration(openFileLimit: openFileLimit)
} catch {
    OutputWriter.standardError.write("legate-manager: \(error)\n\(usage)\n")
    exit(2)
}

/// What a SIGINT/SIGTERM finds: the manager not started yet (and whether a stop was asked for meanwhile), or the
/// running manager to shut down.
enum ShutdownTarget {
    case starting(stopRequested: Bool)
    case running(Manager)
}

let shutdownTarget = Mutex(ShutdownTarget.starting(stopRequested: false))

/// Shuts the manager down gracefully (GOAWAY, drain, store flushed) and exits 0.
func shutDown(_ manager: Manager) -> Never {
    // Dropped rather than waited for: a reader that stopped must not hold up the shutdown.
    OutputWriter(fileDescriptor: 1, whenFull: .drop)
        .write("shutting down: GOAWAY to \(manager.openConnections) connections\n")
    manager.shutdown()
    exit(0)
}

/// Turns SIGINT/SIGTERM into a graceful shutdown. Installed before the manager starts, so the sources are armed
/// long before the banner: whoever sends SIGTERM once the address is printed gets the graceful stop, never a
/// signal ignored for good. A plain function, so the handlers are not isolated to the main actor: they run on
/// their own queue while the main thread parks.
func installShutdownHandlers() -> [any DispatchSourceSignal] {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let queue = DispatchQueue(label: "legate.signals")
    return [SIGINT, SIGTERM].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler {
            let manager = shutdownTarget.withLock { target -> Manager? in
                guard case .running(let manager) = target else {
                    target = .starting(stopRequested: true)
                    return nil
                }
                return manager
            }
            if let manager { shutDown(manager) }
        }
        source.resume()
        return source
    }
}

let signalSources = installShutdownHandlers()
let manager: Manager
do {
    // Production wiring: the real clocks, and the store chosen by --store (SQLite in the data directory by default).
    manager = try Manager.start(
        configuration: configuration, log: StandardErrorLogSink(minimumLevel: logLevel, format: logFormat),
        clock: SystemClock())
} catch {
    OutputWriter.standardError.write("legate-manager: \(error)\n")
    exit(1)
}

let stopRequestedWhileStarting = shutdownTarget.withLock { target -> Bool in
    defer { target = .running(manager) }
    if case .starting(let requested) = target { return requested }
    return false
}
if stopRequestedWhileStarting { shutDown(manager) }

let report = manager.report
let address = configuration.host.contains(":") ? "[\(configuration.host)]:\(manager.port)" : "\(configuration.host):\(manager.port)"
say("Legate manager listening on \(address) (TLS, ALPN legate/1)")
say("  data directory: \(report.dataDirectory)")
say("  node id: \(manager.nodeID)")
if let httpPort = manager.httpPort, let http = configuration.http {
    let host = http.host.contains(":") ? "[\(http.host)]" : http.host
    say("  metrics and health: \(http.plain ? "http" : "https")://\(host):\(httpPort)/metrics (/livez, /readyz)")
    say("  web console: \(http.plain ? "http" : "https")://\(host):\(httpPort)/console (sign in with an admin API key)")
}
if let caFile = report.caFile { say("  CA file (dev certificate): \(caFile)") }
say("  account id: \(report.accountID)")
let tokenShown: String
if let value = report.newDefaultTokenValue {
    say("  default delegate token (shown once, store it now): \(value)")
    tokenShown = value
} else {
    say("  default delegate token: id \(report.defaultTokenID) (value shown only on first start)")
    tokenShown = "<token value>"
}
if let adminKey = report.newAdminKeyValue {
    say("  bootstrap admin API key (shown once, store it now; all permissions): \(adminKey)")
    say("  use it with: LEGATE_ADMIN_KEY=<key> LEGATE_MANAGER=\(address) LEGATE_CA_FILE=\(report.caFile ?? "<ca.pem>") "
        + "\(SiblingExecutable.command("legatectl", nextTo: SiblingExecutable.currentExecutable())) token list")
}
say("start a delegate:")
say(
    "  LEGATE_MANAGER=\(address) LEGATE_ACCOUNT_ID=\(report.accountID) LEGATE_DELEGATE_TOKEN=\(tokenShown) "
        + "LEGATE_CA_FILE=\(report.caFile ?? "<ca.pem>") "
        + "\(SiblingExecutable.command("legate-delegate", nextTo: SiblingExecutable.currentExecutable())) --name my-delegate")

dispatchMain()
