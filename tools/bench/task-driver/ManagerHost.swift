// `legate-task-driver --host-manager`: the real manager (listener, TLS, loops, store) in a process that parks its
// main thread in sleep(3) instead of dispatchMain(). Valgrind (3.19, even --tool=none) crashes when the main thread
// leaves through dispatchMain's pthread_exit, so legate-manager itself cannot be counted; this host can
// (tools/bench/callgrind-manager.sh). It prints the banner lines tools/bench/lib.sh reads, and serves plain-HTTP
// metrics on loopback so the script can read how many heartbeats and tasks the manager handled.
#if canImport(Glibc)
    import Glibc
#endif
import LegateCommandLine
import LegateCore
import LegateManager

/// Starts a manager on loopback with `--port` and `--data-dir`, prints its banner, and exits after `--seconds`.
func hostManager(_ arguments: CommandLineArguments) throws {
    var configuration = ManagerConfiguration.defaults
    configuration.host = "127.0.0.1"
    configuration.port = try arguments.integer("--port", default: 0)
    configuration.dataDirectory = try arguments.required("--data-dir")
    configuration.connectionRate.perSecond = 0  // the load connects all at once from one address
    configuration.http = HTTPEndpointConfiguration(port: 0, plain: true)
    let seconds = try arguments.integer("--seconds", default: 60)
    let manager = try Manager.start(
        configuration: configuration, log: StandardErrorLogSink(minimumLevel: .error, format: .text))
    let report = manager.report
    print("Legate manager listening on 127.0.0.1:\(manager.port) (TLS, ALPN legate/1)")
    if let caFile = report.caFile { print("  CA file (dev certificate): \(caFile)") }
    if let port = manager.httpPort { print("  metrics and health: http://127.0.0.1:\(port)/metrics") }
    print("  account id: \(report.accountID)")
    if let token = report.newDefaultTokenValue { print("  default delegate token (shown once, store it now): \(token)") }
    if let key = report.newAdminKeyValue {
        print("  bootstrap admin API key (shown once, store it now; all permissions): \(key)")
    }
    print("start a delegate: (host for callgrind, exits after \(seconds) s)")
    fflush(nil)  // all output streams: the banner must reach the pipe before the main thread parks
    var left = UInt32(clamping: max(0, seconds))
    while left > 0 { left = sleep(left) }  // parks the main thread; the manager runs on its queues
    manager.shutdown()
    exit(0)
}
