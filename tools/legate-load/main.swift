// legate-load: N delegates in one process against one manager; prints heartbeat throughput and latency.
import Foundation
import LegateAuth
import LegateCommandLine
import LegateCore
import LegateDelegate
import LegateNet

let usage = """
    usage: legate-load [options]     (manager, account, token and CA also from LEGATE_* variables)
      --manager HOST:PORT[,...]  manager address(es): several managers sharing a store split the delegates
                                 (loopback only unless --allow-non-loopback)
      --account ID --token VALUE --ca-file PEM
      --delegates N              delegates to run (default 100, at most 20000)
      --heartbeat-interval S     seconds between beats per delegate; 0 = next beat as soon as answered (default 1)
      --duration S               measured seconds after warm-up (default 10, at most 3600)
      --warmup S                 seconds between all connected and measuring (default 2)
      --connect-rate N           new connections per second (default 2000)
      --loops N                  client event loops (default: cores)
      --server-pid PID           read the manager's RSS and CPU from /proc for per-connection/per-beat costs
      --tasks RATE               also submit RATE echo tasks per second (needs --admin-key or LEGATE_ADMIN_KEY
                                 with task:submit and task:view); reports submit-to-result throughput and latency
      --task-batch N             tasks per TaskSubmit call (default 100)
      --task-workers N           admin connections submitting and waiting in parallel (default 16)
      --task-payload-bytes N     echo payload size (default 16)
      --capacity N               tasks each delegate runs at once (default 4)
      --json                     print the report as JSON (snake_case keys, as legatectl --json)
    exit status: 0 every delegate registered, 1 some did not or the run failed, 2 usage error,
                 3 cannot reach the manager (checked before any delegate starts)
    """

func fail(_ message: String, status: Int32) -> Never {
    OutputWriter.standardError.write("legate-load: \(message)\n")
    exit(status)
}

func parseSettings() throws -> LoadSettings {
    let environment = ProcessInfo.processInfo.environment
    let arguments = try CommandLineArguments(
        Array(CommandLine.arguments.dropFirst()),
        valueFlags: [
            "--manager", "--account", "--token", "--ca-file", "--delegates", "--heartbeat-interval", "--duration",
            "--warmup", "--connect-rate", "--loops", "--server-pid", "--tasks", "--task-batch", "--task-workers",
            "--task-payload-bytes", "--admin-key", "--capacity",
        ],
        switchFlags: ["--json", "--help", "--version", "--allow-non-loopback"])
    if arguments.isSet("--help") {
        print(usage)
        exit(0)
    }
    if arguments.isSet("--version") {
        print("legate-load \(LegateVersion.current)")
        exit(0)
    }
    if let extra = arguments.positionals.first { throw CommandLineArguments.ParseError.unknownFlag(extra) }
    func setting(_ flag: String, _ variable: String) throws -> String {
        if let value = arguments.string(flag) ?? environment[variable], !value.isEmpty { return value }
        throw CommandLineArguments.ParseError.missingRequired(flag: "\(flag) (or \(variable))")
    }
    let managerText = try setting("--manager", "LEGATE_MANAGER")
    // Several managers sharing one store, comma-separated: the delegates are spread over them.
    let addresses = managerText.split(separator: ",").map { ManagerAddress(String($0)) }
    guard let address = addresses.first ?? nil, !addresses.contains(where: { $0 == nil }) else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--manager", value: managerText, expected: "HOST:PORT or a comma-separated list of them")
    }
    let loopbackHosts: Set<String> = ["127.0.0.1", "::1", "localhost"]
    let isLoopback = addresses.allSatisfy { candidate in
        candidate.map { loopbackHosts.contains($0.host) || $0.host.hasPrefix("127.") } ?? false
    }
    if !isLoopback && !arguments.isSet("--allow-non-loopback") {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--manager", value: managerText, expected: "a loopback address (pass --allow-non-loopback to override)")
    }
    let token = try DelegateToken.parse(try setting("--token", "LEGATE_DELEGATE_TOKEN"))
    var settings = LoadSettings(
        address: address, accountID: try setting("--account", "LEGATE_ACCOUNT_ID"), token: token,
        caFile: try setting("--ca-file", "LEGATE_CA_FILE"))
    settings.otherManagers = addresses.dropFirst().compactMap { $0 }
    guard FileManager.default.isReadableFile(atPath: settings.caFile) else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--ca-file", value: settings.caFile, expected: "a readable PEM file (the manager's CA)")
    }
    settings.delegates = try arguments.integer("--delegates", default: settings.delegates)
    guard (1...20_000).contains(settings.delegates) else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--delegates", value: "\(settings.delegates)", expected: "1...20000")
    }
    settings.heartbeatInterval = try arguments.seconds("--heartbeat-interval", default: .seconds(1))
    settings.duration = try arguments.seconds("--duration", default: settings.duration)
    guard settings.duration <= .seconds(3600) else {
        throw CommandLineArguments.ParseError.invalidValue(flag: "--duration", value: "\(settings.duration)", expected: "at most 3600")
    }
    settings.warmup = try arguments.seconds("--warmup", default: settings.warmup)
    settings.connectRate = try arguments.integer("--connect-rate", default: settings.connectRate)
    settings.loops = max(1, try arguments.integer("--loops", default: settings.loops))
    if let pid = arguments.string("--server-pid") {
        guard let value = Int32(pid) else {
            throw CommandLineArguments.ParseError.invalidValue(flag: "--server-pid", value: pid, expected: "a process id")
        }
        settings.serverPID = value
    }
    settings.json = arguments.isSet("--json")
    settings.capacity = try arguments.integer("--capacity", default: settings.capacity)
    guard (1...10_000).contains(settings.capacity) else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--capacity", value: "\(settings.capacity)", expected: "1...10000")
    }
    settings.tasks.rate = try arguments.integer("--tasks", default: 0)
    settings.tasks.batch = try arguments.integer("--task-batch", default: settings.tasks.batch)
    settings.tasks.workers = try arguments.integer("--task-workers", default: settings.tasks.workers)
    settings.tasks.payloadBytes = try arguments.integer("--task-payload-bytes", default: settings.tasks.payloadBytes)
    guard settings.tasks.rate >= 0, (1...1000).contains(settings.tasks.batch), (1...256).contains(settings.tasks.workers),
        (0...65_536).contains(settings.tasks.payloadBytes)
    else {
        throw CommandLineArguments.ParseError.invalidValue(
            flag: "--tasks/--task-batch/--task-workers/--task-payload-bytes", value: "out of range",
            expected: "RATE >= 0, batch 1...1000, workers 1...256, payload 0...65536 bytes")
    }
    if settings.tasks.rate > 0 { settings.tasks.adminKey = try setting("--admin-key", "LEGATE_ADMIN_KEY") }
    return settings
}

let settings: LoadSettings
do {
    settings = try parseSettings()
} catch {
    fail("\(error)\n\(usage)", status: 2)
}
signal(SIGPIPE, SIG_IGN)
let openFiles = System.raiseOpenFileLimit()
if openFiles < settings.delegates + 64 {
    fail("the open-file limit is \(openFiles), too low for \(settings.delegates) delegates; raise `ulimit -n`", status: 1)
}
do {
    let report = try LoadRun(settings: settings).run()
    OutputWriter.standardError.write("\n")
    print(settings.json ? report.json() : report.text())
    // On standard error, so `--json` output stays one valid JSON document.
    OutputWriter.standardError.write(
        "reproduce: legate-load " + CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("lgt_") && !$0.hasPrefix("lak_") }.joined(separator: " ") + "\n")
    exit(report.connected == settings.delegates ? 0 : 1)
} catch let error as PreflightError {
    fail("\(error)", status: 3)
} catch {
    fail("\(error)", status: 1)
}
