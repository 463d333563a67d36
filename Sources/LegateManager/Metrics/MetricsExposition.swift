import LegateCore
import LegateWire

/// Renders every manager metric in the Prometheus text format. Reads shared state under its own locks and sums
/// the per-loop counters; runs off the event loops (the task counts wait on the task queue).
struct MetricsExposition: Sendable {
    let services: ManagerServices
    let loopMetrics: [LoopMetrics]
    /// Open connections on the delegate port.
    let openConnections: @Sendable () -> Int

    /// The whole exposition.
    func render() -> String {
        var out = PrometheusText()
        out.family("legate_build_info", "gauge", "Build information; the value is always 1.")
        out.sample("legate_build_info", [("version", Self.version), ("protocol", "\(ProtocolVersion.current)")], 1)
        self.renderDelegates(&out)
        self.renderTasks(&out)
        self.renderTokensAndStore(&out)
        Self.renderProcess(&out)
        return out.text
    }

    /// The version reported in `legate_build_info`.
    static let version = "0.1.0"

    private func sum(_ counter: (LoopMetrics) -> MetricCounter) -> UInt64 {
        self.loopMetrics.reduce(0) { $0 &+ counter($1).current }
    }

    private func renderDelegates(_ out: inout PrometheusText) {
        var byState: [DelegateStatus: Int] = [:]
        for record in self.services.registry.records(accountID: nil) { byState[record.status, default: 0] += 1 }
        out.family("legate_delegates", "gauge", "Known delegates by state.")
        for state in DelegateStatus.allCases {
            out.sample("legate_delegates", [("state", state.rawValue)], Double(byState[state] ?? 0))
        }
        out.single(
            "legate_delegates_connected", "gauge", "Delegates registered and connected now.",
            Double(self.services.registry.connectedCount))
        out.single(
            "legate_connections_open", "gauge", "Open connections on the delegate port (registered or not).",
            Double(self.openConnections()))
        out.single(
            "legate_heartbeats_received_total", "counter", "Heartbeats verified and answered.",
            Double(self.sum(\.heartbeatsReceived)))
        out.single(
            "legate_heartbeats_missed_total", "counter",
            "Registered delegates disconnected because the heartbeat grace passed without a beat.",
            Double(self.sum(\.heartbeatsMissed)))
        out.family("legate_registrations_total", "counter", "Registrations by result.")
        for result in RegistrationResult.allCases {
            let count = self.loopMetrics.reduce(UInt64(0)) { total, loop in
                total &+ (loop.registrations.values.first { $0.label == result }?.count ?? 0)
            }
            out.sample("legate_registrations_total", [("result", result.rawValue)], count: count)
        }
        out.family("legate_auth_failures_total", "counter", "Delegate authentication failures by reason.")
        for reason in AuthFailureReason.allCases {
            let count = self.loopMetrics.reduce(UInt64(0)) { total, loop in
                total &+ (loop.authFailures.values.first { $0.label == reason }?.count ?? 0)
            }
            out.sample("legate_auth_failures_total", [("reason", reason.rawValue)], count: count)
        }
    }

    private func renderTasks(_ out: inout PrometheusText) {
        let metrics = self.services.metrics
        let live = self.services.tasks.liveTaskCounts()
        out.family("legate_tasks", "gauge", "Unfinished tasks by state (queued, assigned, acknowledged, running).")
        for state in TaskStatus.allCases where !state.isFinal {
            out.sample("legate_tasks", [("state", state.rawValue)], Double(live[state] ?? 0))
        }
        out.family("legate_tasks_completed_total", "counter", "Tasks that reached a final state, by outcome.")
        for (label, count) in metrics.tasksCompleted.values {
            out.sample("legate_tasks_completed_total", [("outcome", label.rawValue)], count: count)
        }
        out.histogram(
            "legate_task_dispatch_latency_seconds", "Time from submission to the first assignment of a task.",
            metrics.taskDispatchLatency)
        out.histogram(
            "legate_task_duration_seconds", "Time from submission to the final state of a task.", metrics.taskDuration)
        out.single(
            "legate_task_lease_expirations_total", "counter",
            "Task attempts a delegate did not acknowledge within the lease (re-dispatched).",
            Double(metrics.leaseExpirations.current))
    }

    private func renderTokensAndStore(_ out: inout PrometheusText) {
        let metrics = self.services.metrics
        out.histogram(
            "legate_token_revocation_fanout_duration_seconds",
            "Time from a token revoke's start until every connected delegate acknowledged SELF_DESTRUCT or the "
                + "deadline passed.", metrics.revocationFanOutDuration)
        out.family(
            "legate_token_expiry_timestamp_seconds", "gauge", "Expiry of each active delegate token that has one.")
        for entry in self.services.tokens.expiringEntries.sorted(by: { $0.tokenID < $1.tokenID }) {
            out.sample(
                "legate_token_expiry_timestamp_seconds", [("token_id", entry.tokenID)],
                Double(entry.expiresAt ?? 0) / 1000)
        }
        out.histogram(
            "legate_store_apply_duration_seconds",
            "Duration of one store write transaction (a group commit of queued writes).", metrics.storeApplyDuration)
        out.single(
            "legate_store_apply_failures_total", "counter", "Store write transactions that failed.",
            Double(metrics.storeApplyFailures.current))
    }

    private static func renderProcess(_ out: inout PrometheusText) {
        let stats = ProcessStats.read()
        let rows: [(String, String, String, Double?)] = [
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.", stats.cpuSeconds),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", stats.residentBytes),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", stats.virtualBytes),
            ("process_open_fds", "gauge", "Number of open file descriptors.", stats.openFDs),
            ("process_max_fds", "gauge", "Maximum number of open file descriptors.", stats.maxFDs),
            ("process_start_time_seconds", "gauge", "Start time of the process since the epoch in seconds.",
             stats.startTimeSeconds),
        ]
        for (name, type, help, value) in rows {
            guard let value else { continue }
            out.single(name, type, help, value)
        }
    }
}
