import Foundation

/// The figures of one load run, printed as text or JSON.
struct LoadReport {
    let settings: LoadSettings
    var connected = 0
    var connectSeconds = 0.0
    var registrationsPerSecond = 0.0
    var registrationLatency = LatencyHistogram()
    var registeredAtEnd = 0
    var heartbeats: UInt64 = 0
    var measureSeconds = 0.0
    var heartbeatLatency = LatencyHistogram()
    var errors: [String: Int] = [:]
    var selfDestructed = 0
    var serverBytesPerConnection: Double?
    var serverRSSBytes: Int?
    var serverCPUSecondsPerHeartbeat: Double?
    var serverCPUCores: Double?
    var tasks: TaskLoadFigures?
    var serverCPUSecondsPerTask: Double?

    var heartbeatsPerSecond: Double { self.measureSeconds > 0 ? Double(self.heartbeats) / self.measureSeconds : 0 }

    private func milliseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 }

    private var intervalText: String {
        guard let interval = self.settings.heartbeatInterval else { return "manager's" }
        return interval == .zero ? "0 (flat out, 1 in flight per delegate)" : "\(interval)"
    }

    func text() -> String {
        var lines: [String] = []
        lines.append("legate-load report")
        lines.append("  target            \(self.settings.address.host):\(self.settings.address.port)")
        lines.append("  delegates         \(self.settings.delegates) requested, \(self.connected) registered "
            + "(\(self.registeredAtEnd) still registered at the end)")
        lines.append(String(format: "  connect           %.2f s for all, %.0f handshakes+registrations/s", self.connectSeconds,
                            self.registrationsPerSecond))
        lines.append(self.latencyLine("  registration", self.registrationLatency))
        lines.append("  heartbeat interval \(self.intervalText)")
        lines.append(String(format: "  heartbeats        %llu in %.2f s = %.0f/s", self.heartbeats, self.measureSeconds,
                            self.heartbeatsPerSecond))
        lines.append(self.latencyLine("  heartbeat RTT", self.heartbeatLatency))
        if let perConnection = self.serverBytesPerConnection, let rss = self.serverRSSBytes {
            lines.append(String(format: "  server memory     %.1f KiB per connection (RSS %.1f MiB after connecting)",
                                perConnection / 1024, Double(rss) / 1_048_576))
        }
        if let cpu = self.serverCPUSecondsPerHeartbeat, let cores = self.serverCPUCores {
            lines.append(String(format: "  server CPU        %.1f us per heartbeat (%.2f cores busy)", cpu * 1e6, cores))
        }
        if let tasks = self.tasks {
            lines.append(String(
                format: "  tasks             %d succeeded of %d submitted in %.2f s = %.0f/s (asked %d/s, batches of %d, "
                    + "%d workers)", tasks.succeeded, tasks.submitted, tasks.seconds, tasks.tasksPerSecond,
                self.settings.tasks.rate, self.settings.tasks.batch, self.settings.tasks.workers))
            lines.append(self.latencyLine("  task, per task", tasks.taskLatency) + "  (manager clock, submit to result)")
            if let cpu = self.serverCPUSecondsPerTask {
                lines.append(String(format: "  server CPU        %.1f us per task (heartbeats included)", cpu * 1e6))
            }
            lines.append(self.latencyLine("  task batch", tasks.batchLatency) + "  (client: TaskSubmit sent to last result)")
            for (kind, count) in tasks.notSucceeded.merging(tasks.refusedCalls, uniquingKeysWith: +)
                .sorted(by: { $0.value > $1.value }).prefix(10) {
                lines.append("    \(count)\ttask problem: \(kind)")
            }
        }
        lines.append("  self-destructed   \(self.selfDestructed)")
        if self.errors.isEmpty {
            lines.append("  errors            none")
        } else {
            lines.append("  errors by kind")
            for (kind, count) in self.errors.sorted(by: { $0.value > $1.value }) {
                lines.append("    \(count)\t\(kind)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func latencyLine(_ label: String, _ histogram: LatencyHistogram) -> String {
        String(
            format: "%@ p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  (n=%llu)",
            label.padding(toLength: 19, withPad: " ", startingAt: 0),
            self.milliseconds(histogram.percentile(0.5)), self.milliseconds(histogram.percentile(0.9)),
            self.milliseconds(histogram.percentile(0.99)), self.milliseconds(histogram.percentile(0.999)),
            self.milliseconds(histogram.maximum), histogram.count)
    }

    func json() -> String {
        func latency(_ histogram: LatencyHistogram) -> [String: Any] {
            [
                "count": histogram.count, "p50_ms": self.milliseconds(histogram.percentile(0.5)),
                "p90_ms": self.milliseconds(histogram.percentile(0.9)),
                "p99_ms": self.milliseconds(histogram.percentile(0.99)),
                "p999_ms": self.milliseconds(histogram.percentile(0.999)),
                "max_ms": self.milliseconds(histogram.maximum),
            ]
        }
        var object: [String: Any] = [
            "target": "\(self.settings.address.host):\(self.settings.address.port)",
            "delegates_requested": self.settings.delegates, "delegates_registered": self.connected,
            "registered_at_end": self.registeredAtEnd, "connect_seconds": self.connectSeconds,
            "registrations_per_second": self.registrationsPerSecond,
            "registration_latency": latency(self.registrationLatency), "heartbeats": self.heartbeats,
            "measure_seconds": self.measureSeconds, "heartbeats_per_second": self.heartbeatsPerSecond,
            "heartbeat_latency": latency(self.heartbeatLatency), "errors": self.errors,
            "self_destructed": self.selfDestructed,
        ]
        if let interval = self.settings.heartbeatInterval { object["heartbeat_interval_seconds"] = LoadRun.seconds(interval) }
        if let value = self.serverBytesPerConnection { object["server_bytes_per_connection"] = value }
        if let value = self.serverCPUSecondsPerHeartbeat { object["server_cpu_microseconds_per_heartbeat"] = value * 1e6 }
        if let value = self.serverCPUCores { object["server_cpu_cores"] = value }
        if let tasks = self.tasks {
            object["tasks"] = [
                "submitted": tasks.submitted, "succeeded": tasks.succeeded, "per_second": tasks.tasksPerSecond,
                "requested_rate": self.settings.tasks.rate, "latency_per_task": latency(tasks.taskLatency),
                "latency_per_batch": latency(tasks.batchLatency),
                "server_cpu_microseconds_per_task": (self.serverCPUSecondsPerTask ?? 0) * 1e6,
                "problems": tasks.notSucceeded.merging(tasks.refusedCalls, uniquingKeysWith: +),
            ] as [String: Any]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
