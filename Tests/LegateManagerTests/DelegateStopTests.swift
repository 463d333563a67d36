import Foundation
import LegateAdminClient
import LegateDelegate
import LegateTestSupport
import LegateWire
import Testing

/// The real `legate-delegate` on SIGTERM/SIGINT: kills its task processes, tells the manager it leaves (the task is
/// re-queued at once), exits 0.
@Suite(.serialized) struct DelegateStopTests {
    static func environment(_ harness: ManagerHarness, drainTimeout: String) -> [String: String] {
        [
            "LEGATE_MANAGER": "127.0.0.1:\(harness.port)", "LEGATE_ACCOUNT_ID": harness.accountID,
            "LEGATE_DELEGATE_TOKEN": harness.manager.report.newDefaultTokenValue ?? "",
            "LEGATE_CA_FILE": harness.caFile, "LEGATE_SERVER_NAME": "localhost", "LEGATE_TASK_TYPES": "shell",
            "LEGATE_DRAIN_TIMEOUT": drainTimeout, "LEGATE_DELEGATE_NAME": "stopping",
        ]
    }

    /// Starts a `sleep 30` shell task on the binary delegate; returns the task id and the sleep's pid.
    static func runSleep(
        _ harness: ManagerHarness, admin: AdminClient, directory: String
    ) throws -> (taskID: String, pid: Int32) {
        let pidFile = directory + "/sleep.pid"
        let payload = ShellTaskHandler.Payload(
            command: "/bin/sh", arguments: ["-c", "echo $$ > \(pidFile); exec sleep 30"]
        ).encoded()
        var spec = TaskProtocolTests.spec("shell")
        spec.payload = payload
        spec.maxAttempts = 5
        let task = try admin.submitTask(spec)
        #expect(eventually { (try? admin.task(id: task.id))?.state == .running })
        var pid: Int32 = 0
        #expect(eventually {
            pid = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            return pid > 0
        })
        return (task.id, pid)
    }

    static func temporaryDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "legate-stop-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func sigtermKillsTheTaskTellsTheManagerAndExitsZero() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let delegate = try DelegateProcess(
            environment: Self.environment(harness, drainTimeout: "1"), logPath: directory + "/delegate.log")
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        let (taskID, pid) = try Self.runSleep(harness, admin: admin, directory: directory)

        let signalledAt = ContinuousClock.now
        kill(delegate.process.processIdentifier, SIGTERM)
        let status = delegate.waitForExit(timeout: .seconds(10))
        #expect(status == 0, "log: \(delegate.log)")
        // Drained for the 1 s timeout, then the kill and the Leave call: far below the 30 s sleep or any lease.
        #expect(ContinuousClock.now - signalledAt < .seconds(5))
        #expect(eventually(timeout: .seconds(5)) { DelegateProcess.isGone(pid) })
        #expect(delegate.log.contains("the manager re-queued its tasks"), "log: \(delegate.log)\n\(harness.log.text)")
        // Answered only once stored: queued again the moment the delegate is gone, not after the lease.
        let task = try admin.task(id: taskID)
        #expect(task.state == .queued)
        #expect(
            harness.log.recorded.contains { $0.message == "delegate leaving" && $0.metadata["reason"] == "SIGTERM" })
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func aSecondSignalStopsAtOnceAndStillKillsTheTask() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let delegate = try DelegateProcess(
            environment: Self.environment(harness, drainTimeout: "60"), logPath: directory + "/delegate.log")
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        let (taskID, pid) = try Self.runSleep(harness, admin: admin, directory: directory)

        let signalledAt = ContinuousClock.now
        kill(delegate.process.processIdentifier, SIGINT)
        #expect(eventually { delegate.log.contains("signal=SIGINT") })
        #expect(delegate.waitForExit(timeout: .milliseconds(300)) == nil)  // draining: the task may still finish
        kill(delegate.process.processIdentifier, SIGINT)
        #expect(delegate.waitForExit(timeout: .seconds(10)) == 0, "log: \(delegate.log)")
        #expect(ContinuousClock.now - signalledAt < .seconds(10))  // not the 60 s drain
        #expect(eventually(timeout: .seconds(5)) { DelegateProcess.isGone(pid) })
        #expect(eventually(timeout: .seconds(5)) { (try? admin.task(id: taskID))?.state == .queued })
    }

    @Test(.enabled(if: DelegateProcess.isBuilt)) func aTaskThatEndsWithinTheDrainTimeoutReportsItsResult() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let delegate = try DelegateProcess(
            environment: Self.environment(harness, drainTimeout: "30"), logPath: directory + "/delegate.log")
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        // The task waits for a file the test creates after the signal: it ends during the drain, on cue.
        let cue = directory + "/go"
        let payload = ShellTaskHandler.Payload(
            command: "/bin/sh", arguments: ["-c", "while [ ! -e \(cue) ]; do sleep 0.05; done; echo drained"]
        ).encoded()
        var spec = TaskProtocolTests.spec("shell")
        spec.payload = payload
        let task = try admin.submitTask(spec)
        #expect(eventually { (try? admin.task(id: task.id))?.state == .running })

        kill(delegate.process.processIdentifier, SIGTERM)
        #expect(eventually { delegate.log.contains("signal=SIGTERM") })
        #expect(FileManager.default.createFile(atPath: cue, contents: nil))
        #expect(delegate.waitForExit(timeout: .seconds(20)) == 0, "log: \(delegate.log)")
        let final = try admin.task(id: task.id)
        #expect(final.state == .succeeded)
        #expect(final.attempt == 1)
        #expect(String(decoding: final.output, as: UTF8.self) == "drained\n")
    }
}
