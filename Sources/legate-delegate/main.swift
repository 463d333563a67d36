// legate-delegate: configuration from flags and the environment; runs one DelegateClient until it stops.
import Dispatch
import Foundation
import LegateAuth
import LegateCommandLine
import LegateCore
import LegateDelegate
import LegateNet

let usage = """
    usage: legate-delegate [options]       (each option also reads the environment variable shown)
      --manager HOST:PORT     LEGATE_MANAGER         manager address
      --account ID            LEGATE_ACCOUNT_ID      account the delegate belongs to
      --token VALUE           LEGATE_DELEGATE_TOKEN  delegate token (prefer the environment: argv is visible)
      --ca-file PEM           LEGATE_CA_FILE         CA that signed the manager certificate
      --name NAME             LEGATE_DELEGATE_NAME   delegate name (default: host name)
      --tags a,b,c            LEGATE_TAGS            tags for task selectors
      --profile NAME          LEGATE_PROFILE         profile to register with
      --audience AUD          LEGATE_AUDIENCE        JWT audience (default legate-manager)
      --capacity N            LEGATE_CAPACITY        tasks run at once (default 4)
      --task-types a,b        LEGATE_TASK_TYPES      built-in task handlers to enable: echo, shell (default both)
    exit status: 0 stopped, 1 refused by the manager or misconfigured, 2 usage, 3 self-destructed
    """

/// Standard output for the delegate's running log: a supervisor that stops reading costs lines, never a stalled
/// delegate.
let output = OutputWriter(fileDescriptor: 1, whenFull: .drop)

/// Writes a line to standard output unbuffered, so a supervisor reading a pipe sees it at once.
func say(_ line: String) {
    output.write(line + "\n")
}

func fail(_ message: String, status: Int32) -> Never {
    OutputWriter.standardError.write("legate-delegate: \(message)\n")
    exit(status)
}

System.ignoreBrokenPipe()
let environment = ProcessInfo.processInfo.environment
let arguments: CommandLineArguments
do {
    arguments = try CommandLineArguments(
        Array(CommandLine.arguments.dropFirst()),
        valueFlags: [
            "--manager", "--account", "--token", "--ca-file", "--name", "--tags", "--profile", "--audience",
            "--capacity", "--task-types",
        ],
        switchFlags: ["--help", "--version"])
} catch {
    fail("\(error)\n\(usage)", status: 2)
}
if arguments.isSet("--help") {
    say(usage)
    exit(0)
}
if arguments.isSet("--version") {
    say("legate-delegate \(LegateVersion.current)")
    exit(0)
}
if let extra = arguments.positionals.first { fail("unexpected argument \(extra)\n\(usage)", status: 2) }

func setting(_ flag: String, _ variable: String) -> String? {
    arguments.string(flag) ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
}

guard let managerText = setting("--manager", "LEGATE_MANAGER") else { fail("set LEGATE_MANAGER or --manager", status: 2) }
guard let address = ManagerAddress(managerText) else {
    fail("manager address '\(managerText)' is not HOST:PORT (no scheme such as https://, no path)", status: 2)
}
guard let accountID = setting("--account", "LEGATE_ACCOUNT_ID") else {
    fail("set LEGATE_ACCOUNT_ID or --account", status: 2)
}
guard let tokenText = setting("--token", "LEGATE_DELEGATE_TOKEN") else {
    fail("set LEGATE_DELEGATE_TOKEN or --token", status: 2)
}
guard let caFile = setting("--ca-file", "LEGATE_CA_FILE") else { fail("set LEGATE_CA_FILE or --ca-file", status: 2) }
guard FileManager.default.isReadableFile(atPath: caFile) else {
    fail("the CA file \(caFile) does not exist or cannot be read; check LEGATE_CA_FILE or --ca-file", status: 2)
}
let token: DelegateToken
do {
    token = try DelegateToken.parse(tokenText.trimmingCharacters(in: .whitespacesAndNewlines))
} catch {
    fail("the delegate token is not usable: \(error)", status: 2)
}
let hostname = ProcessInfo.processInfo.hostName
var configuration = DelegateConfiguration(
    managerHost: address.host, managerPort: address.port, caFile: caFile, accountID: accountID, token: token,
    name: setting("--name", "LEGATE_DELEGATE_NAME") ?? hostname, hostname: hostname)
configuration.tags = (setting("--tags", "LEGATE_TAGS") ?? "").split(separator: ",").map {
    $0.trimmingCharacters(in: .whitespaces)
}.filter { !$0.isEmpty }
configuration.profile = setting("--profile", "LEGATE_PROFILE") ?? ""
configuration.audience = setting("--audience", "LEGATE_AUDIENCE") ?? configuration.audience
if let text = setting("--capacity", "LEGATE_CAPACITY") {
    guard let capacity = UInt32(text), capacity >= 1, capacity <= 1024 else {
        fail("capacity '\(text)' is not a whole number from 1 to 1024", status: 2)
    }
    configuration.capacity = capacity
}
let taskTypesText =
    setting("--task-types", "LEGATE_TASK_TYPES") ?? TaskHandlerRegistry.builtInTypes.joined(separator: ",")
let taskTypes = taskTypesText.split(separator: ",").map {
    $0.trimmingCharacters(in: .whitespaces)
}.filter { !$0.isEmpty }
for type in taskTypes where TaskHandlerRegistry.builtIn(named: type) == nil {
    fail("unknown task type '\(type)' in --task-types; built-in types: "
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
            say("startup script ended with status \(outcome.exitCode) after \(outcome.duration)"
                + (outcome.error.isEmpty ? "" : ": \(outcome.error)"))
        case .reported:
            say("startup script report recorded by the manager")
        }
    }
) { event in
    switch event {
    case .connecting(let attempt):
        say("connecting to \(managerText) (attempt \(attempt))")
    case .registered(let delegateID, let state):
        say("registered as \(delegateID) (\(state)); token \(token.redacted)")
        if state == .pending {
            say("waiting for an administrator to approve this delegate (legatectl delegate approve \(delegateID))")
        }
    case .heartbeatAcknowledged:
        break
    case .heartbeatRefused(let reason):
        say("\(reason); re-minting the JWT (check this machine's clock if it repeats)")
    case .approvalDecided(let approved, let reason):
        if !approved {
            fail("rejected by an administrator: \(reason.isEmpty ? "no reason given" : reason). This delegate "
                 + "stops now and will be refused; install a new delegate to register again.", status: 3)
        }
        say("approved by an administrator; now active")
    case .disconnected(let reason, let retryIn):
        say("disconnected (\(reason)); reconnecting in \(retryIn)")
    case .selfDestructed(let reason):
        fail("SELF_DESTRUCT from the manager: \(reason). This delegate stops now; "
             + "install it again with a valid token to bring it back.", status: 3)
    case .stopped(let code, let message):
        if code == .cancelled { exit(0) }
        fail("the manager refused this delegate (\(code)): \(message)", status: 1)
    }
}
client.onTaskEvent { event in
    switch event {
    case .taskStarted(let taskID, let attempt, let type):
        say("task \(taskID) attempt \(attempt) (\(type)) started")
    case .taskRefused(let taskID, let attempt, let reason):
        say("task \(taskID) attempt \(attempt) refused: \(reason)")
    case .taskFinished(let taskID, let attempt, let outcome):
        say("task \(taskID) attempt \(attempt) finished: \(outcome)")
    case .taskResultAcknowledged:
        break
    case .taskResultRefused(let taskID, let attempt, let code, let message):
        say("task \(taskID) attempt \(attempt): the manager refused the result (\(code)): \(message)")
    case .taskAbandoned(let taskID, let attempt, let reason):
        say("task \(taskID) attempt \(attempt) stopped without a report: \(reason)")
    }
}
client.start()
dispatchMain()
