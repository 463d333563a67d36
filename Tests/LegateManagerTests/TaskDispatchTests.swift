import Foundation
import LegateCore
import LegateDelegate
import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Synchronization
import Testing

/// A handler that runs until it is cancelled (a delegate "mid-task").
struct BlockingHandler: TaskHandler {
    let type: String
    let started: Mailbox<String>

    func run(_ task: TaskExecution, context: TaskContext) async throws -> TaskOutput {
        self.started.put(task.taskID)
        while true {
            try Task.checkCancellation()
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A handler that answers at once with a fixed output.
struct ReplyHandler: TaskHandler {
    let type: String
    let reply: String

    func run(_ task: TaskExecution, context: TaskContext) async throws -> TaskOutput {
        TaskOutput(output: Array(self.reply.utf8))
    }
}

/// Real delegates (DelegateClient with handlers) against a real manager: the issue-6 end-to-end cases.
@Suite(.serialized) struct TaskDispatchTests {
    /// Starts a delegate with `handlers` (plus the built-ins named) whose task events land in the mailbox.
    static func delegate(
        _ harness: ManagerHarness, name: String, capacity: UInt32 = 4, builtIns: [String] = ["echo"],
        handlers: [any TaskHandler] = [], tags: [String] = []
    ) throws -> (DelegateClient, Mailbox<DelegateTaskEvent>, Mailbox<DelegateEvent>) {
        var configuration = harness.delegateConfiguration(name: name)
        configuration.capacity = capacity
        configuration.builtInTaskTypes = builtIns
        configuration.tags = tags
        let events = Mailbox<DelegateEvent>()
        let taskEvents = Mailbox<DelegateTaskEvent>()
        let client = DelegateClient(
            configuration: configuration, tls: try DelegateClient.makeTLSContext(configuration),
            loop: harness.group.next()
        ) { events.put($0) }
        for handler in handlers { client.register(handler) }
        client.onTaskEvent { taskEvents.put($0) }
        client.start()
        return (client, taskEvents, events)
    }

    @Test func thousandTasksAcrossTenDelegatesEachSucceedExactlyOnce() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        var fleet: [(DelegateClient, Mailbox<DelegateTaskEvent>, Mailbox<DelegateEvent>)] = []
        for index in 0..<10 { fleet.append(try Self.delegate(harness, name: "fleet-\(index)")) }
        #expect(eventually { harness.manager.connectedDelegates == 10 })
        let specs = (0..<1_000).map { TaskProtocolTests.spec(payload: "job-\($0)") }
        let ids = try admin.submitTasks(specs).map(\.id)
        #expect(Set(ids).count == 1_000)
        // Ids sort by submission time (10 time characters after "tsk_"), so the store appends to its indexes.
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0.prefix(14) <= $1.prefix(14) })
        #expect(ids.allSatisfy { $0.count == 30 })
        var finals: [TaskInfo] = []
        for _ in 0..<20 where finals.count < 1_000 {
            finals = try admin.waitForTasks(ids: ids, timeoutMs: 5_000).filter(\.state.isFinal)
        }
        #expect(finals.count == 1_000)
        #expect(finals.allSatisfy { $0.state == .succeeded && $0.attempt == 1 })
        #expect(finals.map { String(decoding: $0.output, as: UTF8.self) } == (0..<1_000).map { "job-\($0)" })
        // Exactly once: every delegate's finished events together name each task once.
        var finishedBy: [String: Int] = [:]
        var perDelegate: [Int] = []
        for (_, taskEvents, _) in fleet {
            let finished = taskEvents.all.compactMap { event -> String? in
                if case .taskFinished(let id, _, .succeeded) = event { return id }
                return nil
            }
            perDelegate.append(finished.count)
            for id in finished { finishedBy[id, default: 0] += 1 }
        }
        #expect(finishedBy.count == 1_000)
        #expect(finishedBy.values.allSatisfy { $0 == 1 })
        #expect(perDelegate.allSatisfy { $0 > 0 }, "load was not spread: \(perDelegate)")
        for (client, _, _) in fleet { client.stop() }
    }

    @Test func selectorsRouteToTheDelegatesThatCarryTheTags() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let (linux, _, _) = try Self.delegate(harness, name: "linux-box", tags: ["linux", "x86"])
        let (mac, _, _) = try Self.delegate(harness, name: "mac-box", tags: ["mac"])
        #expect(eventually { harness.manager.connectedDelegates == 2 })
        let forLinux = try admin.submitTasks((0..<20).map { _ in TaskProtocolTests.spec(selectors: ["linux"]) })
        let forMac = try admin.submitTasks((0..<20).map { _ in TaskProtocolTests.spec(selectors: ["mac"]) })
        let finals = try admin.waitForTasks(ids: (forLinux + forMac).map(\.id))
        #expect(finals.allSatisfy { $0.state == .succeeded })
        let linuxID = try #require(linux.delegateID)
        let macID = try #require(mac.delegateID)
        #expect(finals.prefix(20).allSatisfy { $0.delegateID == linuxID })
        #expect(finals.suffix(20).allSatisfy { $0.delegateID == macID })
        linux.stop()
        mac.stop()
    }

    @Test func cancelStopsARunningShellTask() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let (client, taskEvents, _) = try Self.delegate(harness, name: "shell-box", builtIns: ["echo", "shell"])
        let payload = ShellTaskHandler.Payload(command: "/bin/sleep", arguments: ["30"]).encoded()
        var spec = TaskProtocolTests.spec("shell")
        spec.payload = payload
        let task = try admin.submitTask(spec)
        #expect(taskEvents.first { if case .taskStarted = $0 { return true } else { return false } } != nil)
        #expect(eventually { (try? admin.task(id: task.id))?.state == .running })
        let cancelAt = ContinuousClock.now
        _ = try admin.cancelTask(id: task.id, reason: "not needed")
        let final = try #require(try admin.waitForTasks(ids: [task.id], timeoutMs: 10_000).first)
        #expect(final.state == .cancelled)
        #expect(ContinuousClock.now - cancelAt < .seconds(10))  // the sleep was stopped, not waited out
        #expect(client.runningTaskCount == 0)
        client.stop()
    }

    @Test func killedDelegateMidTaskMeansAttemptTwoElsewhere() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        let started = Mailbox<String>()
        let (stuck, stuckEvents, _) = try Self.delegate(
            harness, name: "stuck", builtIns: [], handlers: [BlockingHandler(type: "deploy", started: started)])
        #expect(eventually { harness.manager.connectedDelegates == 1 })
        let task = try admin.submitTask(TaskProtocolTests.spec("deploy"))
        #expect(started.next() == task.id)
        #expect(eventually { (try? admin.task(id: task.id))?.state == .running })
        stuck.stop()  // the delegate goes away mid-task
        #expect(stuckEvents.first { if case .taskAbandoned = $0 { return true } else { return false } } != nil)
        #expect(eventually { (try? admin.task(id: task.id))?.state == .queued })
        #expect(try admin.task(id: task.id).waitingReason == "no connected active delegate supports task type 'deploy'")

        let (rescuer, _, _) = try Self.delegate(
            harness, name: "rescuer", builtIns: [], handlers: [ReplyHandler(type: "deploy", reply: "deployed")])
        let final = try #require(try admin.waitForTasks(ids: [task.id], timeoutMs: 10_000).first)
        #expect(final.state == .succeeded)
        #expect(final.attempt == 2)
        #expect(final.delegateID == rescuer.delegateID)
        #expect(final.output == Array("deployed".utf8))
        rescuer.stop()
    }
}
