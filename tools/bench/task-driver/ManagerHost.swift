// `legate-task-driver --host-manager`: the real manager (listener, TLS, loops, store) in a process that parks its
// main thread in sleep(3) instead of dispatchMain(). Valgrind (3.19, even --tool=none) crashes when the main thread
// leaves through dispatchMain's pthread_exit, so legate-manager itself cannot be counted; this host can
// (tools/bench/callgrind-heartbeats.sh). It prints the banner lines tools/bench/lib.sh reads.
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
    let seconds = try arguments.integer("--seconds", default: 60)
    let manager = try Manager.start(
        configuration: configuration, log: StandardErrorLogSink(minimumLevel: .error, format: .text))
    let report = manager.report
    print("Legate manager listening on 127.0.0.1:\(manager.port) (TLS, ALPN legate/1)")
    if let caFile = report.caFile { print("  CA file (dev certificate): \(caFile)") }
    print("  account id: \(report.accountID)")
    if let token = report.newDefaultTokenValue { print("  default delegate token (shown once, store it now): \(token)") }
    print("start a delegate: (host for callgrind, exits after \(seconds) s)")
    fflush(nil)  // all output streams: the banner must reach the pipe before the main thread parks
    var left = UInt32(clamping: max(0, seconds))
    while left > 0 { left = sleep(left) }  // parks the main thread; the manager runs on its queues
    manager.shutdown()
    exit(0)
}
