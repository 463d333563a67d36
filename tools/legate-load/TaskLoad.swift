import Dispatch
import Foundation
import LegateCore
import LegateAdminClient
import LegateCommandLine
import LegateNet
import LegateWire
import Synchronization

/// Settings of the task load (`--tasks RATE`).
struct TaskLoadSettings: Sendable {
    /// Tasks per second to submit in total.
    var rate = 0
    /// Tasks per TaskSubmit call.
    var batch = 100
    /// Admin connections, each with one worker thread that submits a batch and waits for its results.
    var workers = 16
    /// Admin API key with task:submit and task:view.
    var adminKey = ""
    /// Bytes of echo payload per task.
    var payloadBytes = 16
}

/// Figures of the task load.
struct TaskLoadFigures: Sendable {
    var submitted = 0
    var succeeded = 0
    var notSucceeded: [String: Int] = [:]
    var refusedCalls: [String: Int] = [:]
    /// Client clock: from sending the batch's TaskSubmit to the TaskWait answer that had every result.
    var batchLatency = LatencyHistogram()
    /// Manager clock, per task: from submission (stored) to its result (stored).
    var taskLatency = LatencyHistogram()
    var seconds = 0.0

    var tasksPerSecond: Double { self.seconds > 0 ? Double(self.succeeded) / self.seconds : 0 }
}

/// Drives echo tasks through the manager at a fixed rate while the load's delegates run them.
final class TaskLoad: Sendable {
    private let settings: TaskLoadSettings
    private let clients: [AdminClient]
    private let figures = Mutex(TaskLoadFigures())
    private let measuring = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let nextSlot = Mutex<ContinuousClock.Instant>(ContinuousClock.now)
    private let finished = DispatchGroup()

    /// Connects the admin clients (blocking).
    init(settings: TaskLoadSettings, address: ManagerAddress, caFile: String, group: EventLoopGroup) throws {
        self.settings = settings
        var clients: [AdminClient] = []
        for _ in 0..<max(1, settings.workers) {
            clients.append(
                try AdminClient.connect(
                    host: address.host, port: address.port, caFile: caFile,
                    serverName: address.host.hasPrefix("127.") || address.host == "::1" ? "localhost" : nil,
                    apiKey: settings.adminKey, loop: group.next(), timeout: .seconds(60)))
        }
        self.clients = clients
    }

    /// Starts the workers; they pace themselves to `settings.rate` tasks per second.
    func start() {
        self.nextSlot.withLock { $0 = ContinuousClock.now }
        for client in self.clients {
            self.finished.enter()
            Thread.detachNewThread { [self] in
                self.work(client)
                self.finished.leave()
            }
        }
    }

    /// From now on, finished batches count.
    func startMeasuring() {
        self.figures.withLock { $0 = TaskLoadFigures() }
        self.measuring.store(true, ordering: .releasing)
    }

    /// Stops submitting, waits for the batches in flight (bounded), and returns the figures of `seconds`.
    func stop(measuredSeconds seconds: Double) -> TaskLoadFigures {
        var figures = self.figures.withLock { $0 }
        self.measuring.store(false, ordering: .releasing)
        self.stopping.store(true, ordering: .releasing)
        _ = self.finished.wait(timeout: .now() + .seconds(30))
        for client in self.clients { client.close() }
        figures.seconds = seconds
        return figures
    }

    /// A snapshot for the progress line.
    var succeededSoFar: Int { self.figures.withLock { $0.succeeded } }

    private func work(_ client: AdminClient) {
        let batchSize = max(1, min(self.settings.batch, 1000))
        let spacing = Duration.seconds(1) * (Double(batchSize) / Double(max(self.settings.rate, 1)))
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: self.settings.payloadBytes)
        while !self.stopping.load(ordering: .acquiring) {
            let slot = self.nextSlot.withLock { next -> ContinuousClock.Instant in
                let slot = Swift.max(next, ContinuousClock.now - spacing * 4)  // no burst to catch up after a stall
                next = slot + spacing
                return slot
            }
            let wait = slot - ContinuousClock.now
            if wait > .zero { Thread.sleep(forTimeInterval: LoadRun.seconds(wait)) }  // pacing, not synchronisation
            var spec = TaskSpec()
            spec.type = "echo"
            spec.payload = payload
            spec.timeoutMs = 60_000
            let sentAt = ContinuousClock.now
            do {
                let submitted = try client.submitTasks(Array(repeating: spec, count: batchSize))
                var pending = submitted.map(\.id)
                var finals: [TaskInfo] = []
                while !pending.isEmpty {
                    let answer = try client.waitForTasks(ids: pending, timeoutMs: 30_000)
                    let done = answer.filter(\.state.isFinal)
                    finals += done
                    let doneIDs = Set(done.map(\.id))
                    pending.removeAll { doneIDs.contains($0) }
                    if done.isEmpty, self.stopping.load(ordering: .acquiring) { break }
                }
                self.record(finals, submitted: submitted.count, after: ContinuousClock.now - sentAt)
            } catch {
                self.figures.withLock { $0.refusedCalls["\(error)", default: 0] += 1 }
            }
        }
    }

    private func record(_ finals: [TaskInfo], submitted: Int, after duration: Duration) {
        guard self.measuring.load(ordering: .acquiring) else { return }
        self.figures.withLock { figures in
            figures.submitted += submitted
            figures.batchLatency.record(nanoseconds: UInt64(max(0, LoadRun.seconds(duration) * 1e9)))
            for task in finals {
                if task.state == .succeeded {
                    figures.succeeded += 1
                    let milliseconds = max(0, task.finishedAtMs - task.createdAtMs)
                    figures.taskLatency.record(nanoseconds: UInt64(milliseconds) * 1_000_000)
                } else {
                    figures.notSucceeded["\(task.state.name): \(task.error)", default: 0] += 1
                }
            }
        }
    }
}
