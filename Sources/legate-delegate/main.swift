// legate-delegate: settings from flags, the environment and a configuration file; runs one DelegateClient until
// it stops, leaving cleanly on SIGTERM or SIGINT.
import Dispatch
import Foundation
import LegateAuth
import LegateCommandLine
import LegateCore
import LegateDelegate
import LegateNet
import LegateSecrets
import Synchronization

/// Standard output for the delegate's running log: a supervisor that stops reading costs lines, never a stalled
/// delegate.
let output = OutputWriter(fileDescriptor: 1, whenFull: .drop)
/// The lowest level written and the line format (set once from `log_level` and `log_format`).
let logSettings = Mutex<(level: LogLevel, format: LogLineFormat)>((.info, .text))

/// Writes one log line (time, level, message, fields) to standard output unbuffered.
func log(_ level: LogLevel, _ message: String, _ fields: [String: String] = [:]) {
    let (lowest, format) = logSettings.withLock { $0 }
    guard level >= lowest else { return }
    output.write(format.line(
        unixMilliseconds: WallClock.unixMilliseconds(), level: level, message: message, metadata: fields))
}

func fail(_ message: String, status: Int32) -> Never {
    log(.error, message)
    OutputWriter.standardError.write("legate-delegate: \(message)\n")
    // No task process may outlive the delegate.
    ProcessGroups.signalAll(SIGKILL)
    exit(status)
}

System.ignoreBrokenPipe()
let environment = ProcessInfo.processInfo.environment
let arguments: CommandLineArguments
do {
    arguments = try CommandLineArguments(
        Array(CommandLine.arguments.dropFirst()), valueFlags: DelegateSettings.valueFlags,
        switchFlags: ["--help", "--version"])
} catch {
    OutputWriter.standardError.write("legate-delegate: \(error)\n\(DelegateSettings.usage)\n")
    exit(2)
}
if arguments.isSet("--help") {
    output.write(DelegateSettings.usage + "\n")
    exit(0)
}
if arguments.isSet("--version") {
    output.write("legate-delegate \(LegateVersion.current)\n")
    exit(0)
}
if let extra = arguments.positionals.first {
    OutputWriter.standardError.write("legate-delegate: unexpected argument \(extra)\n\(DelegateSettings.usage)\n")
    exit(2)
}
var fileSettings: [String: String] = [:]
if let configPath = arguments.string("--config") ?? environment["LEGATE_DELEGATE_CONFIG"].flatMap({
    $0.isEmpty ? nil : $0
}) {
    do {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        fileSettings = try DelegateSettings.parseFile(text, path: configPath)
    } catch let error as DelegateSettingsError {
        fail("\(error)", status: 2)
    } catch {
        fail("cannot read the configuration file \(configPath): \(error.localizedDescription)", status: 2)
    }
}
let settings = DelegateSettings.resolve(flag: { arguments.string($0) }, environment: environment, file: fileSettings)

let levels: [String: LogLevel] = ["debug": .debug, "info": .info, "warning": .warning, "error": .error]
if let name = settings["log_level"] {
    guard let level = levels[name] else { fail("log_level '\(name)' is not debug, info, warning or error", status: 2) }
    logSettings.withLock { $0.level = level }
}
if let name = settings["log_format"] {
    guard let format = LogLineFormat(rawValue: name) else {
        fail("log_format '\(name)' is not text or json", status: 2)
    }
    logSettings.withLock { $0.format = format }
}

guard let managerText = settings["manager"] else { fail("set --manager, LEGATE_MANAGER or manager", status: 2) }
// Several managers sharing one store may be listed, comma-separated; the delegate moves to the next on loss.
let addresses = managerText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
let parsedAddresses = addresses.compactMap { ManagerAddress($0) }
guard let address = parsedAddresses.first, parsedAddresses.count == addresses.count else {
    fail(
        "manager address '\(managerText)' is not HOST:PORT or a comma-separated list of them "
            + "(no scheme such as https://, no path)", status: 2)
}
guard let accountID = settings["account"] else { fail("set --account, LEGATE_ACCOUNT_ID or account", status: 2) }
let tokenFile = settings["token_file"]
var tokenText = settings["token"]
if let tokenFile {
    if FileManager.default.fileExists(atPath: tokenFile) || tokenText == nil {
        do {
            tokenText = try TokenFile.read(tokenFile)  // the file wins: it holds the token rotated to
        } catch {
            fail("\(error)", status: 2)
        }
    }
}
guard let tokenText else {
    fail("set --token-file/LEGATE_DELEGATE_TOKEN_FILE or --token/LEGATE_DELEGATE_TOKEN", status: 2)
}
let token: DelegateToken
do {
    token = try DelegateToken.parse(tokenText.trimmingCharacters(in: .whitespacesAndNewlines))
} catch {
    fail("the delegate token is not usable: \(error)", status: 2)
}
if let tokenFile, !FileManager.default.fileExists(atPath: tokenFile) {
    // First start with a token given directly: seed the file, so a rotation has somewhere to go.
    do {
        try TokenFile.write(tokenText, to: tokenFile)
    } catch {
        fail("\(error)", status: 2)
    }
}
if let caFile = settings["ca_file"], !caFile.isEmpty, !FileManager.default.isReadableFile(atPath: caFile) {
    fail("the CA file \(caFile) does not exist or cannot be read; check --ca-file or LEGATE_CA_FILE", status: 2)
}
let hostname = ProcessInfo.processInfo.hostName
var configuration = DelegateConfiguration(
    managerHost: address.host, managerPort: address.port, caFile: settings["ca_file"] ?? "", accountID: accountID,
    token: token, name: settings["name"] ?? hostname, hostname: hostname)
configuration.tokenFile = tokenFile
// The device key: created on the first start, mode 0600, never logged or sent; only its public half and
// fingerprint leave, so an operator can compare the fingerprint with what legatectl shows.
// By default one directory per delegate name, so two delegates started on one host stay two delegates.
let defaultStateBase =
    tokenFile.map { URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("legate-state").path }
    ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".legate-delegate").path
let stateDirectory = settings["state_dir"] ?? defaultStateBase + "/" + DelegateSettings.directoryName(configuration.name)
if settings["state_dir"] == nil {
    // The per-name directories' parent; the device key file makes (and checks) the delegate's own directory.
    do {
        try FileManager.default.createDirectory(
            atPath: defaultStateBase, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
        fail("cannot create the state directory \(defaultStateBase): \(error.localizedDescription); check --state-dir",
             status: 2)
    }
}
let stateLock: StateDirectoryLock
do {
    let deviceKey = try DeviceKeyFile.loadOrCreate(in: stateDirectory)
    configuration.deviceKey = deviceKey
    configuration.stateDirectory = stateDirectory
} catch {
    fail("cannot load or create the device key in \(stateDirectory): \(error); check --state-dir", status: 2)
}
do {
    stateLock = try StateDirectoryLock(directory: stateDirectory)
} catch {
    fail("\(error)", status: 2)
}
// The same state directory is the same delegate after a restart (its ring key copies name its delegate id).
do {
    configuration.instanceID = try InstanceIDFile.loadOrCreate(in: stateDirectory)
} catch {
    fail("\(error); check --state-dir", status: 2)
}
// Logged with the registration, so an operator can compare it with `legatectl keyring show`.
let deviceKeyFingerprint = configuration.deviceKey.map { DeviceKeyFingerprint.of($0.publicKey) } ?? ""
configuration.otherManagers = parsedAddresses.dropFirst().map { ManagerEndpoint(host: $0.host, port: $0.port) }
configuration.serverName = settings["server_name"]
configuration.clientCertificateFile = settings["client_cert"]
configuration.clientPrivateKeyFile = settings["client_key"]
if (configuration.clientCertificateFile == nil) != (configuration.clientPrivateKeyFile == nil) {
    fail("client_cert and client_key go together: set both for mutual TLS, or neither", status: 2)
}
configuration.tags = (settings["tags"] ?? "").split(separator: ",").map {
    $0.trimmingCharacters(in: .whitespaces)
}.filter { !$0.isEmpty }
configuration.profile = settings["profile"] ?? ""
configuration.audience = settings["audience"] ?? configuration.audience
if let text = settings["capacity"] {
    guard let capacity = UInt32(text), capacity >= 1, capacity <= 1024 else {
        fail("capacity '\(text)' is not a whole number from 1 to 1024", status: 2)
    }
    configuration.capacity = capacity
}
var drainTimeout: Duration = .seconds(10)
if let text = settings["drain_timeout"] {
    guard let seconds = Double(text), seconds >= 0, seconds <= 86_400 else {
        fail("drain_timeout '\(text)' is not a number of seconds from 0 to 86400", status: 2)
    }
    drainTimeout = .milliseconds(Int64(seconds * 1000))
}
let taskTypesText = settings["task_types"] ?? TaskHandlerRegistry.builtInTypes.joined(separator: ",")
let taskTypes = taskTypesText.split(separator: ",").map {
    $0.trimmingCharacters(in: .whitespaces)
}.filter { !$0.isEmpty }
for type in taskTypes where TaskHandlerRegistry.builtIn(named: type) == nil {
    fail("unknown task type '\(type)' in task_types; built-in types: "
         + TaskHandlerRegistry.builtInTypes.joined(separator: ", "), status: 2)
}
configuration.builtInTaskTypes = taskTypes

let tls: TLSClientContext
do {
    tls = try DelegateClient.makeTLSContext(configuration)
} catch {
    fail("TLS setup failed: \(error)", status: 1)
}
let group = EventLoopGroup(loopCount: 1)
let client = DelegateClient(
    configuration: configuration, tls: tls, loop: group.next(),
    onStartupScript: { event in
        switch event {
        case .finished(let outcome):
            log(outcome.exitCode == 0 ? .info : .warning, "startup script ended",
                ["status": "\(outcome.exitCode)", "duration": "\(outcome.duration)", "error": outcome.error])
        case .reported:
            log(.info, "startup script report recorded by the manager")
        }
    }
) { event in
    switch event {
    case .connecting(let attempt):
        log(.info, "connecting", ["manager": managerText, "attempt": "\(attempt)"])
    case .registered(let delegateID, let state):
        log(
            .info, "registered",
            [
                "delegate.id": delegateID, "state": "\(state)", "token": token.redacted,
                "device_key": deviceKeyFingerprint,
            ])
        if state == .pending {
            log(.warning, "waiting for an administrator to approve this delegate",
                ["command": "legatectl delegate approve \(delegateID)"])
        }
    case .heartbeatAcknowledged:
        break
    case .heartbeatRefused(let reason):
        log(.warning, "heartbeat refused; re-minting the JWT (check this machine's clock if it repeats)",
            ["reason": reason])
    case .approvalDecided(let approved, let reason):
        if !approved {
            fail("rejected by an administrator: \(reason.isEmpty ? "no reason given" : reason). This delegate "
                 + "stops now and will be refused; install a new delegate to register again.", status: 3)
        }
        log(.info, "approved by an administrator; now active")
    case .disconnected(let reason, let retryIn):
        log(.warning, "disconnected", ["reason": reason, "retry_in": "\(retryIn)"])
    case .selfDestructed(let reason):
        fail("SELF_DESTRUCT from the manager: \(reason). This delegate stops now; "
             + "install it again with a valid token to bring it back.", status: 3)
    case .stopped(let code, let message):
        if code == .cancelled {
            log(.info, "stopped", ["reason": message])
            ProcessGroups.signalAll(SIGKILL)
            exit(0)
        }
        fail("the manager refused this delegate (\(code)): \(message)", status: 1)
    }
}
client.onTaskEvent { event in
    switch event {
    case .taskStarted(let taskID, let attempt, let type):
        log(.info, "task started", ["task.id": taskID, "attempt": "\(attempt)", "type": type])
    case .taskRefused(let taskID, let attempt, let reason):
        log(.warning, "task refused", ["task.id": taskID, "attempt": "\(attempt)", "reason": reason])
    case .taskFinished(let taskID, let attempt, let outcome):
        log(.info, "task finished", ["task.id": taskID, "attempt": "\(attempt)", "outcome": "\(outcome)"])
    case .taskResultAcknowledged:
        break
    case .taskResultRefused(let taskID, let attempt, let code, let message):
        log(.warning, "task result refused by the manager",
            ["task.id": taskID, "attempt": "\(attempt)", "code": "\(code)", "reason": message])
    case .taskAbandoned(let taskID, let attempt, let reason):
        log(.info, "task stopped without a report", ["task.id": taskID, "attempt": "\(attempt)", "reason": reason])
    case .ringKeySealed(let ringID, let ringVersion, let rotated, let recipients, let error):
        guard error.isEmpty else {
            log(.warning, "key ring work refused", ["ring.id": ringID, "rotate": "\(rotated)", "error": error])
            return
        }
        log(
            .info, rotated ? "key ring rotated" : "key ring key shared",
            ["ring.id": ringID, "ring_version": "\(ringVersion)", "sealed_to": recipients.joined(separator: "; ")])
    }
}
client.onTokenRotation { event in
    switch event {
    case .switched(let oldTokenID, let newTokenID, let savedTo):
        log(.info, "token rotated by the manager",
            ["old_token.id": oldTokenID, "new_token.id": newTokenID, "saved_to": savedTo ?? "memory only"])
    case .notSaved(let newTokenID, let error):
        log(.error, "token rotation not acknowledged: the new token could not be saved",
            ["new_token.id": newTokenID, "error": "\(error)"])
    }
}

// SIGTERM/SIGINT: leave cleanly (drain, kill what still runs, tell the manager, exit 0); a second one stops at once.
var signalSources: [DispatchSourceSignal] = []
for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .main)
    source.setEventHandler {
        log(.info, "leaving", ["signal": name, "drain_timeout": "\(drainTimeout)"])
        client.leave(reason: name, drainTimeout: drainTimeout)
    }
    source.resume()
    signalSources.append(source)
}
client.start()
dispatchMain()
