import Foundation
import LegateAuth
import LegateCore
import LegateNet
import LegateWire
import Testing

@testable import LegateDelegate

/// `DelegateClient` against a scripted manager over loopback TLS: the task wire contract end to end.
@Suite struct DelegateClientTaskTests {
    struct Setup {
        let manager: FakeManager
        let client: DelegateClient
        let events: Recorder<DelegateTaskEvent>

        func stop() {
            self.client.stop()
            self.manager.stop()
        }
    }

    func start(
        capacity: UInt32 = 2, types: [String] = ["echo", "shell"], startReportDelay: Duration = .zero,
        acknowledgementDelay: Duration = .zero
    ) async throws -> Setup {
        let manager = try FakeManager()
        var configuration = DelegateConfiguration(
            managerHost: "127.0.0.1", managerPort: manager.port, caFile: manager.caFile, accountID: "acc_1",
            token: DelegateToken.generate(), name: "d1", hostname: "h1")
        configuration.serverName = "localhost"
        configuration.capacity = capacity
        configuration.builtInTaskTypes = types
        configuration.taskStartReportDelay = startReportDelay  // zero: every start is reported, as these tests check
        configuration.taskAcknowledgementDelay = acknowledgementDelay
        configuration.backoff = ReconnectBackoff(initialDelay: .milliseconds(10), maximumDelay: .milliseconds(20))
        let client = DelegateClient(
            configuration: configuration, tls: try DelegateClient.makeTLSContext(configuration),
            loop: manager.group.next()
        ) { _ in }
        let events = Recorder<DelegateTaskEvent>()
        client.onTaskEvent { events.append($0) }
        client.start()
        let registered = await manager.frames.wait { frames in
            frames.contains { $0.type == .request && $0.method == CallMethod.register.rawValue }
        }
        #expect(registered)
        return Setup(manager: manager, client: client, events: events)
    }

    func results(_ manager: FakeManager) -> [TaskResult] {
        manager.requests(.taskResult, as: TaskResult.self)
    }

    func waitForResult(_ manager: FakeManager, _ taskID: String) async -> TaskResult? {
        _ = await manager.frames.wait { frames in
            frames.contains { frame in
                guard frame.method == CallMethod.taskResult.rawValue else { return false }
                return (try? TaskResult(protoBytes: frame.payload))?.taskID == taskID
            }
        }
        return self.results(manager).first { $0.taskID == taskID }
    }

    @Test func registrationAnnouncesHandlersAndCapacity() async throws {
        let setup = try await self.start(capacity: 3)
        defer { setup.stop() }
        let request = setup.manager.requests(.register, as: RegisterRequest.self).first
        #expect(request?.taskTypes == ["echo", "shell"])
        #expect(request?.capacity == 3)
        #expect(setup.client.taskTypes == ["echo", "shell"])
    }

    @Test func aQuickAttemptSendsOnlyItsResultWithItsHeldAcknowledgement() async throws {
        let setup = try await self.start(startReportDelay: .seconds(5), acknowledgementDelay: .seconds(5))
        defer { setup.stop() }
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "q1", attempt: 1, type: "echo", payload: [1]))
        let result = await self.waitForResult(setup.manager, "q1")
        #expect(result?.outcome == .succeeded)
        #expect(setup.manager.requests(.taskUpdate, as: TaskUpdate.self).isEmpty)
        // The PUSH_ACK did not wait its 5 s: it went out just before the result.
        let frames = setup.manager.frames.all.filter { $0.type == .pushAck || $0.method >= 3 }
        #expect(frames.map(\.type) == [.pushAck, .request])
    }

    @Test func aHeldAcknowledgementGoesOutAfterItsDelayWhileTheTaskRuns() async throws {
        let setup = try await self.start(startReportDelay: .seconds(5), acknowledgementDelay: .milliseconds(20))
        defer { setup.stop() }
        let payload = ShellTaskHandler.Payload(command: "/bin/sleep", arguments: ["30"]).encoded()
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "slow", attempt: 1, type: "shell", payload: payload))
        let acknowledged = await setup.manager.frames.wait { frames in frames.contains { $0.type == .pushAck } }
        #expect(acknowledged)
        #expect(setup.manager.requests(.taskResult, as: TaskResult.self).isEmpty)
    }

    @Test func anEchoAssignmentIsAcknowledgedStartedAndReported() async throws {
        let setup = try await self.start()
        defer { setup.stop() }
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "t1", attempt: 1, type: "echo", payload: [7, 8]))
        let result = await self.waitForResult(setup.manager, "t1")
        #expect(result == TaskResult(taskID: "t1", attempt: 1, outcome: .succeeded, output: [7, 8]))
        let frames = setup.manager.frames.all.filter { $0.type == .pushAck || $0.method >= 3 }
        #expect(frames.map(\.type) == [.pushAck, .request, .request])
        #expect(frames.first?.method == PushKind.taskAssign.rawValue)
        #expect(frames.first?.streamID == 2)
        #expect(setup.manager.requests(.taskUpdate, as: TaskUpdate.self)
            == [TaskUpdate(taskID: "t1", attempt: 1, started: true)])
        #expect(await setup.events.wait { $0.contains(.taskResultAcknowledged(taskID: "t1", attempt: 1)) })
        #expect(setup.events.all.prefix(2) == [
            .taskStarted(taskID: "t1", attempt: 1, type: "echo"),
            .taskFinished(taskID: "t1", attempt: 1, outcome: .succeeded),
        ])
    }

    @Test func anUnknownTypeIsAcknowledgedThenFailed() async throws {
        let setup = try await self.start(types: ["echo"])
        defer { setup.stop() }
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "t2", attempt: 4, type: "gpu"))
        let result = await self.waitForResult(setup.manager, "t2")
        #expect(result?.outcome == .failed)
        #expect(result?.error == "task type gpu is not supported by this delegate (supports: echo)")
        #expect(setup.manager.frames.all.contains { $0.type == .pushAck && $0.method == PushKind.taskAssign.rawValue })
    }

    @Test func aStaleResultIsRefusedAndReportedNotRetried() async throws {
        let setup = try await self.start()
        defer { setup.stop() }
        setup.manager.refuseResultsWith.withLock { $0 = .aborted }
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "t3", attempt: 1, type: "echo"))
        let refused = DelegateTaskEvent.taskResultRefused(
            taskID: "t3", attempt: 1, code: .aborted, message: "attempt is stale")
        #expect(await setup.events.wait { $0.contains(refused) })
        #expect(self.results(setup.manager).count == 1)
    }

    @Test func cancelStopsARunningShellTaskAndHeartbeatsCountIt() async throws {
        let setup = try await self.start()
        defer { setup.stop() }
        let payload = ShellTaskHandler.Payload(command: "/bin/sleep", arguments: ["30"]).encoded()
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "t4", attempt: 2, type: "shell", payload: payload))
        let counted = await setup.manager.frames.wait { frames in
            frames.contains {
                guard $0.method == CallMethod.heartbeat.rawValue, let beat = try? Heartbeat(protoBytes: $0.payload)
                else { return false }
                return beat.runningTasks == 1 && beat.freeCapacity == 1
            }
        }
        #expect(counted)
        setup.manager.push(.taskCancel, TaskCancel(taskID: "t4", attempt: 2, reason: "operator"))
        let result = await self.waitForResult(setup.manager, "t4")
        #expect(result?.outcome == .cancelled)
        #expect(result?.error == "cancelled by the manager: operator")
        #expect(setup.manager.frames.all.contains { $0.type == .pushAck && $0.method == PushKind.taskCancel.rawValue })
    }

    @Test func aLostConnectionAbandonsRunningTasksSilently() async throws {
        let setup = try await self.start()
        defer { setup.stop() }
        let payload = ShellTaskHandler.Payload(command: "/bin/sleep", arguments: ["30"]).encoded()
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "t5", attempt: 1, type: "shell", payload: payload))
        #expect(await setup.events.wait { $0.contains(.taskStarted(taskID: "t5", attempt: 1, type: "shell")) })
        setup.manager.dropConnection()
        #expect(await setup.events.wait { events in
            events.contains { if case .taskAbandoned("t5", 1, _) = $0 { return true } else { return false } }
        })
        #expect(setup.client.runningTaskCount == 0)
        // Back on a new connection, a new task runs; nothing was ever reported for t5.
        #expect(await setup.manager.connections.wait { $0.count == 2 })
        #expect(await setup.manager.frames.wait { frames in
            frames.filter { $0.method == CallMethod.register.rawValue }.count == 2
        })
        setup.manager.push(.taskAssign, TaskAssignment(taskID: "t6", attempt: 1, type: "echo"))
        #expect(await self.waitForResult(setup.manager, "t6")?.outcome == .succeeded)
        #expect(self.results(setup.manager).map(\.taskID) == ["t6"])
    }
}
