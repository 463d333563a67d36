import Foundation
import LegateManager
import LegateTestSupport
import Testing

/// `legatectl task submit --target` takes a delegate's unique name as well as its id, like every other command
/// that names a delegate; a name two delegates share is refused with their ids rather than guessed.
@Suite(.serialized) struct LegatectlTargetNameTests {
    let cli = ExecutableRunner(name: "legatectl")

    @Test(.enabled(if: ExecutableRunner.path("legatectl") != nil)) func aTargetByNameRunsOnThatDelegate() throws {
        let harness = try ManagerHarness()
        let environment = LegatectlWaitTests.environment(harness)
        let (solo, _, _) = try TaskDispatchTests.delegate(harness, name: "solo")
        let (twinA, _, _) = try TaskDispatchTests.delegate(harness, name: "twin")
        let (twinB, _, _) = try TaskDispatchTests.delegate(harness, name: "twin")
        defer { [solo, twinA, twinB].forEach { $0.stop() } }
        #expect(eventually { harness.manager.connectedDelegates == 3 })

        let byName = try self.cli.run(
            ["task", "submit", "--type", "echo", "--payload", "hi", "--target", "solo", "--wait", "--wait-timeout", "20",
             "--json"], environment: environment)
        #expect(byName.status == 0, "\(byName.error)")
        let task = try #require(try JSONSerialization.jsonObject(with: Data(byName.output.utf8)) as? [String: Any])
        let show = try self.cli.run(["delegate", "show", "solo", "--json"], environment: environment)
        let delegate = try #require(try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any])
        let soloID = try #require(delegate["id"] as? String)
        #expect(task["state"] as? String == "succeeded")
        #expect(task["target_delegate_id"] as? String == soloID)
        #expect(task["delegate_id"] as? String == soloID)

        let shared = try self.cli.run(
            ["task", "submit", "--type", "echo", "--target", "twin"], environment: environment)
        #expect(shared.status == 1)
        #expect(shared.error.contains("2 delegates are named twin") && shared.output.isEmpty, "\(shared.error)")
    }
}
