import Foundation
import LegateAdminClient
import LegateCore
import LegateDelegate
import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// At debug level the manager tells a connection's life, registrations, pushes and task transitions; at any level
/// no line holds a token value, a JWT or an admin key.
@Suite(.serialized) struct DebugLogTests {
    @Test func debugLinesFollowAConnectionAndATaskWithoutSecrets() throws {
        let harness = try ManagerHarness()
        let (client, _, events) = try TaskDispatchTests.delegate(harness, name: "debug-logs")
        defer { client.stop() }
        #expect(events.first(timeout: .seconds(10)) { $0.isRegistered } != nil)
        let admin = try TaskProtocolTests.admin(harness)
        let id = try #require(try admin.submitTasks([TaskProtocolTests.spec(payload: "logged")]).first?.id)
        var final: TaskInfo?
        for _ in 0..<20 where final == nil {
            final = try admin.waitForTasks(ids: [id], timeoutMs: 2_000).first { $0.state.isFinal }
        }
        #expect(final?.state == .succeeded)

        let lines = harness.log.recorded
        let debug = lines.filter { $0.level == .debug }
        #expect(debug.contains { $0.message == "connection opened" && $0.metadata["peer"] != nil })
        #expect(debug.contains { $0.message == "push sent" && $0.metadata["push.kind"] == "\(PushKind.taskAssign.rawValue)" })
        let states = debug.filter { $0.message == "task transition" && $0.metadata["task.id"] == id }
            .compactMap { $0.metadata["state"] }
        #expect(states.first == "queued" && states.last == "succeeded", "transitions logged: \(states)")
        #expect(lines.contains { $0.level == .info && $0.message == "delegate registered" })

        let text = harness.log.text
        #expect(!text.contains(harness.token.value), "a token value reached the log")
        #expect(!text.contains(harness.manager.report.newAdminKeyValue ?? "lak_never"), "an admin key reached the log")
        #expect(!text.contains("eyJ"), "something that looks like a JWT reached the log")
    }

    @Test func debugLinesAreNotBuiltBelowTheLevel() {
        let sink = StandardErrorLogSink(minimumLevel: .info, writer: OutputWriter(fileDescriptor: -1, whenFull: .drop))
        var built = false
        sink.debug({ built = true; return "expensive" }(), [:])
        #expect(!built, "a debug line below the level is not even built")
        #expect(sink.isEnabled(.warning) && !sink.isEnabled(.debug))
    }
}
