// legate-task-driver: echo tasks through the manager's task path in one process (no sockets), for callgrind
// instruction counts and CPU per task without load-client noise. See tools/bench/callgrind-tasks.sh.
#if canImport(Glibc)
    import Glibc
#endif
import LegateCommandLine
import LegateManager

let usage = """
    usage: legate-task-driver [--tasks N] [--batch N] [--workers N] [--delegates N] [--capacity N] [--loops N]
                              [--payload-bytes N] --dir EMPTY_DIRECTORY
           legate-task-driver --host-manager --data-dir DIR [--port N] [--seconds N]
    Runs N echo tasks (default 10000) through TaskSubmit, the task service, the SQLite store and simulated delegates;
    prints the tasks, wall time and process CPU per task. --host-manager runs the real manager for --seconds
    (default 60) in a process valgrind can count (see ManagerHost.swift).
    """

/// Process CPU time (user + system) in microseconds.
func cpuMicroseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec)
    return user + Double(usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_stime.tv_usec)
}

do {
    let arguments = try CommandLineArguments(
        Array(CommandLine.arguments.dropFirst()),
        valueFlags: ["--tasks", "--batch", "--workers", "--delegates", "--capacity", "--loops", "--payload-bytes",
                     "--dir", "--data-dir", "--port", "--seconds"],
        switchFlags: ["--host-manager"])
    if arguments.isSet("--host-manager") { try hostManager(arguments) }
    guard let directory = arguments.string("--dir") else {
        print(usage)
        exit(2)
    }
    var settings = TaskPathDriver.Settings(directory: directory)
    settings.tasks = try arguments.integer("--tasks", default: settings.tasks)
    settings.batch = try arguments.integer("--batch", default: settings.batch)
    settings.workers = try arguments.integer("--workers", default: settings.workers)
    settings.delegates = try arguments.integer("--delegates", default: settings.delegates)
    settings.capacity = try arguments.integer("--capacity", default: settings.capacity)
    settings.loops = try arguments.integer("--loops", default: settings.loops)
    settings.payloadBytes = try arguments.integer("--payload-bytes", default: settings.payloadBytes)
    let started = ContinuousClock.now
    let cpuBefore = cpuMicroseconds()
    let figures = try TaskPathDriver.run(settings)
    let cpu = cpuMicroseconds() - cpuBefore
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let perTask = cpu / Double(max(1, figures.succeeded))
    print("tasks \(figures.succeeded) succeeded, \(figures.failures) failed")
    print("wall \(seconds) s = \(Int(Double(figures.succeeded) / max(seconds, 1e-9))) tasks/s")
    print("cpu \(Int(cpu)) us = \((perTask * 10).rounded() / 10) us per task (setup included)")
    if figures.failures > 0 || figures.succeeded != settings.tasks { exit(1) }
} catch {
    print("legate-task-driver: \(error)")
    exit(1)
}
