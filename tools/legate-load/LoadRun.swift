import Dispatch
import Foundation
import LegateAuth
import LegateCommandLine
import LegateCore
import LegateDelegate
import LegateNet

/// Settings of one load run, from flags.
struct LoadSettings: Sendable {
    var address: ManagerAddress
    /// Further managers sharing the store: delegate N connects first to manager N modulo their count.
    var otherManagers: [ManagerAddress] = []
    var accountID: String
    var token: DelegateToken
    var caFile: String
    var delegates = 100
    var heartbeatInterval: Duration? = .seconds(1)
    var duration: Duration = .seconds(10)
    var warmup: Duration = .seconds(2)
    var connectRate = 2_000
    var loops = System.coreCount
    var serverPID: Int32?
    var json = false
    var capacity = 4
    var tasks = TaskLoadSettings()
}

/// One simulated delegate's bookkeeping; touched only on its client's loop (`@unchecked Sendable`).
final class LoadDelegate: @unchecked Sendable {
    var client: DelegateClient?
    var isRegistered = false
    var hasRegistered = false
    var connectStartedAt = ContinuousClock.now
}

/// Runs the load: connect N delegates at a bounded rate, measure, stop them, report.
final class LoadRun: @unchecked Sendable {
    let settings: LoadSettings
    let statistics = LoadStatistics()
    private var delegates: [LoadDelegate] = []
    private var taskLoad: TaskLoad?

    init(settings: LoadSettings) {
        self.settings = settings
    }

    func run() throws -> LoadReport {
        var configuration = DelegateConfiguration(
            managerHost: self.settings.address.host, managerPort: self.settings.address.port,
            caFile: self.settings.caFile, accountID: self.settings.accountID, token: self.settings.token,
            name: "load", hostname: ProcessInfo.processInfo.hostName)
        configuration.otherManagers = self.settings.otherManagers.map { ManagerEndpoint(host: $0.host, port: $0.port) }
        configuration.heartbeatIntervalOverride = self.settings.heartbeatInterval
        configuration.capacity = UInt32(self.settings.capacity)
        configuration.backoff = ReconnectBackoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(2))
        let tls = try DelegateClient.makeTLSContext(configuration)
        let group = EventLoopGroup(loopCount: self.settings.loops)
        try Preflight.check(
            host: configuration.managerHost, port: configuration.managerPort, tls: tls,
            serverName: configuration.serverName ?? configuration.managerHost, loop: group.next())
        let rssBefore = self.settings.serverPID.flatMap { ProcessProbe.residentBytes(pid: $0) }
        let connectStart = ContinuousClock.now
        self.startDelegates(configuration: configuration, tls: tls, group: group)
        let connectDeadline = connectStart + .seconds(max(15, 3 * self.settings.delegates / max(self.settings.connectRate, 1)))
        while ContinuousClock.now < connectDeadline && self.statistics.snapshot().everRegistered < self.settings.delegates {
            Thread.sleep(forTimeInterval: 0.2)  // a progress display, not synchronisation: the loop is bounded
            self.progress(phase: "connecting", since: connectStart)
        }
        let connected = self.statistics.snapshot()
        let connectSeconds = Self.seconds((connected.lastRegistrationAt ?? ContinuousClock.now) - connectStart)
        let rssConnected = self.settings.serverPID.flatMap { ProcessProbe.residentBytes(pid: $0) }
        let taskLoad = try self.settings.tasks.rate > 0
            ? TaskLoad(settings: self.settings.tasks, address: self.settings.address, caFile: self.settings.caFile,
                       group: group)
            : nil
        self.taskLoad = taskLoad
        taskLoad?.start()
        Thread.sleep(forTimeInterval: Self.seconds(self.settings.warmup))
        self.statistics.resetHeartbeats()
        taskLoad?.startMeasuring()
        let cpuBefore = self.settings.serverPID.flatMap { ProcessProbe.cpuSeconds(pid: $0) }
        let measureStart = ContinuousClock.now
        let measureEnd = measureStart + self.settings.duration
        while ContinuousClock.now < measureEnd {
            Thread.sleep(forTimeInterval: min(1, Self.seconds(measureEnd - ContinuousClock.now)))
            self.progress(phase: "measuring", since: measureStart)
        }
        let measured = self.statistics.snapshot()
        let elapsed = Self.seconds(ContinuousClock.now - measureStart)
        let cpuAfter = self.settings.serverPID.flatMap { ProcessProbe.cpuSeconds(pid: $0) }
        let taskFigures = taskLoad?.stop(measuredSeconds: elapsed)
        self.stopDelegates()
        var report = LoadReport(settings: self.settings)
        report.connected = connected.everRegistered
        report.connectSeconds = connectSeconds
        report.registrationsPerSecond = connectSeconds > 0 ? Double(connected.everRegistered) / connectSeconds : 0
        report.registrationLatency = connected.registrationLatency
        report.registeredAtEnd = measured.registered
        report.heartbeats = measured.heartbeats
        report.measureSeconds = elapsed
        report.heartbeatLatency = measured.heartbeatLatency
        report.errors = measured.errors
        report.selfDestructed = measured.selfDestructed
        report.tasks = taskFigures
        if let before = rssBefore, let after = rssConnected, connected.everRegistered > 0 {
            report.serverBytesPerConnection = Double(after - before) / Double(connected.everRegistered)
            report.serverRSSBytes = after
        }
        if let before = cpuBefore, let after = cpuAfter, let tasks = taskFigures, tasks.succeeded > 0 {
            report.serverCPUSecondsPerTask = (after - before) / Double(tasks.succeeded)
        }
        if let before = cpuBefore, let after = cpuAfter, measured.heartbeats > 0 {
            report.serverCPUSecondsPerHeartbeat = (after - before) / Double(measured.heartbeats)
            report.serverCPUCores = (after - before) / elapsed
        }
        return report
    }

    private func startDelegates(configuration: DelegateConfiguration, tls: TLSClientContext, group: EventLoopGroup) {
        let interval = Duration.seconds(1) / max(self.settings.connectRate, 1)
        for index in 0..<self.settings.delegates {
            var perDelegate = configuration
            perDelegate.name = "load-\(index)"
            perDelegate.instanceID = DelegateConfiguration.newInstanceID()
            if !self.settings.otherManagers.isEmpty {
                let all = perDelegate.managers
                let rotated = (0..<all.count).map { all[(index + $0) % all.count] }
                perDelegate.managerHost = rotated[0].host
                perDelegate.managerPort = rotated[0].port
                perDelegate.otherManagers = Array(rotated.dropFirst())
            }
            let state = LoadDelegate()
            let loop = group.next()
            let statistics = self.statistics
            let client = DelegateClient(configuration: perDelegate, tls: tls, loop: loop) { event in
                LoadRun.handle(event, state: state, statistics: statistics)
            }
            state.client = client
            self.delegates.append(state)
            _ = loop.schedule(after: interval * index) {
                loop.execute {
                    state.connectStartedAt = ContinuousClock.now
                    client.start()
                }
            }
        }
    }

    private static func handle(_ event: DelegateEvent, state: LoadDelegate, statistics: LoadStatistics) {
        switch event {
        case .connecting:
            state.connectStartedAt = ContinuousClock.now
        case .registered:
            let now = ContinuousClock.now
            statistics.registered(after: now - state.connectStartedAt, firstTime: !state.hasRegistered, at: now)
            state.isRegistered = true
            state.hasRegistered = true
        case .heartbeatAcknowledged(let roundTrip):
            statistics.heartbeat(roundTrip: roundTrip, measured: true)
        case .approvalDecided, .heartbeatRefused:
            break
        case .disconnected(let reason, _):
            statistics.disconnected(reason: reason, wasRegistered: state.isRegistered)
            state.isRegistered = false
        case .selfDestructed:
            statistics.selfDestructed(wasRegistered: state.isRegistered)
            state.isRegistered = false
        case .stopped(let code, let message):
            if code != .cancelled {
                statistics.stopped(reason: "\(code): \(message)", wasRegistered: state.isRegistered)
            }
            state.isRegistered = false
        }
    }

    private func stopDelegates() {
        for state in self.delegates { state.client?.stop() }
    }

    private func progress(phase: String, since start: ContinuousClock.Instant) {
        let snapshot = self.statistics.snapshot()
        let elapsed = Self.seconds(ContinuousClock.now - start)
        let rate = phase == "measuring" && elapsed > 0 ? Double(snapshot.heartbeats) / elapsed : 0
        let tasks = self.taskLoad.map { "  tasks \($0.succeededSoFar)" } ?? ""
        let line = String(
            format: "%@[%@ %5.1fs] registered %d/%d  heartbeats %llu (%.0f/s)%@  errors %d   %@",
            Self.isTerminal ? "\r" : "", phase, elapsed,
            snapshot.registered, self.settings.delegates, snapshot.heartbeats, rate, tasks,
            snapshot.errors.values.reduce(0, +), Self.isTerminal ? "" : "\n")
        OutputWriter.standardError.write(line)
    }

    /// Progress overwrites one line on a terminal and prints one line per update otherwise.
    static let isTerminal = isatty(2) == 1

    static func seconds(_ duration: Duration) -> Double {
        duration / .seconds(1)
    }
}

/// Reads another process's memory and CPU from /proc (Linux), for per-connection and per-heartbeat costs.
enum ProcessProbe {
    static func residentBytes(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }

    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3; utime and stime are fields 14 and 15 (1-based).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
