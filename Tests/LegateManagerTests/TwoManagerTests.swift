import Foundation
import LegateTestSupport
import Testing

/// Two manager processes sharing one PostgreSQL: nodes list each other, an admin action on one reaches the
/// delegates held by the other, and the delegates of a killed manager move to the survivor.
@Suite(.serialized) struct TwoManagerTests {
    @Test(.enabled(if: TwoManagerFleet.isRunnable))
    func aRevokeOnOneManagerReachesADelegateOnTheOther() throws {
        let fleet = try TwoManagerFleet()
        let delegate = try fleet.delegate(managers: fleet.secondAddress)
        let registered = try #require(delegate.line(containing: "registered"))
        let delegateID = try #require(FleetDelegate.value("delegate.id", in: registered))
        let nodes = try fleet.waitForNodes { $0["node-b"] == 1 }
        #expect(nodes == ["node-a": 0, "node-b": 1], "both nodes listed, the delegate on the second")
        let shown = try fleet.json(["delegate", "show", delegateID])
        #expect(shown["node_id"] as? String == "node-b" && shown["connected"] as? Bool == true)
        let listed = try #require(try fleet.json(["delegate", "list"])["delegates"] as? [[String: Any]])
        #expect(listed.map { $0["node_id"] as? String } == ["node-b"])
        #expect(listed.map { $0["connected"] as? Bool } == [true], "connected, though to the other node")

        let tokens = try #require(try fleet.json(["token", "list"])["tokens"] as? [[String: Any]])
        let tokenID = try #require(tokens.first?["id"] as? String)
        let revoke = try fleet.json(["token", "revoke", tokenID])
        #expect((revoke["connected"] as? NSNumber)?.intValue == 1, "counted on the other node: \(revoke)")
        #expect((revoke["acknowledged"] as? NSNumber)?.intValue == 1)
        #expect((revoke["not_reached"] as? NSNumber)?.intValue == 0)
        #expect(delegate.line(containing: "SELF_DESTRUCT") != nil)
        #expect(delegate.exitStatus(timeout: .seconds(20)) == 3)
        // The second node refuses the token too (it was told before the revoke was answered).
        let again = try fleet.delegate(managers: fleet.secondAddress)
        #expect(again.exitStatus(timeout: .seconds(20)) == 1)
    }

    @Test(.enabled(if: TwoManagerFleet.isRunnable))
    func anApprovalOnOneManagerReachesAPendingDelegateOnTheOther() throws {
        let fleet = try TwoManagerFleet()
        let created = try fleet.legatectl(["profile", "create", "--name", "gated", "--requires-approval", "true"])
        #expect(created.status == 0, "\(created.error)")
        let delegate = try fleet.delegate(managers: fleet.secondAddress, profile: "gated")
        let registered = try #require(delegate.line(containing: "registered"))
        #expect(registered.contains("state=pending"))
        let delegateID = try #require(FleetDelegate.value("delegate.id", in: registered))
        var approved = try fleet.legatectl(["delegate", "approve", delegateID, "--json"])
        // The first node hears of the new delegate through its control queue; until then it is unknown there.
        for _ in 0..<100 where approved.output.contains("no such delegate") {
            approved = try fleet.legatectl(["delegate", "approve", delegateID, "--json"])
        }
        #expect(approved.status == 0, "\(approved.output) \(approved.error)")
        #expect(approved.output.contains("\"told\" : 1"), "told on the other node: \(approved.output)")
        #expect(delegate.line(containing: "approved by an administrator") != nil)
    }

    @Test(.enabled(if: TwoManagerFleet.isRunnable))
    func theDelegatesOfAKilledManagerMoveToTheOtherAndItsLeaseExpires() throws {
        let fleet = try TwoManagerFleet(lease: 5)
        let delegate = try fleet.delegate(managers: fleet.firstAddress + "," + fleet.secondAddress)
        let first = try #require(delegate.line(containing: "registered"))
        #expect(try fleet.waitForNodes(onSecond: true) { $0["node-a"] == 1 } == ["node-a": 1, "node-b": 0])
        fleet.first.kill()
        let second = try #require(delegate.line(containing: "registered"), "moved to the surviving manager")
        #expect(FleetDelegate.value("delegate.id", in: second) == FleetDelegate.value("delegate.id", in: first))
        // The dead node stays listed until its lease (5 s) runs out; then only the survivor is left.
        let nodes = try fleet.waitForNodes(onSecond: true, attempts: 400) { $0["node-a"] == nil }
        #expect(nodes == ["node-b": 1])
    }

    @Test(.enabled(if: TwoManagerFleet.isRunnable))
    func aKilledManagersQueuedTaskRunsOnTheOtherOnceItsLeaseRunsOut() throws {
        let fleet = try TwoManagerFleet(lease: 5)
        let submitted = try fleet.legatectl(
            ["task", "submit", "--type", "echo", "--payload", "moved", "--selectors", "gpu"])
        #expect(submitted.status == 0, "\(submitted.error)")
        let taskID = submitted.output.trimmingCharacters(in: .whitespacesAndNewlines)
        fleet.first.kill()
        let delegate = try fleet.delegate(managers: fleet.secondAddress, tags: "gpu")
        #expect(delegate.line(containing: "registered") != nil)
        // Only the first node held the task; the second queues it once the first one's lease ran out.
        let waited = try fleet.legatectl(["task", "wait", taskID, "--wait-timeout", "40"], onSecond: true)
        #expect(waited.status == 0 && waited.output.contains("succeeded"), "\(waited.output) \(waited.error)")
    }

    @Test(.enabled(if: TwoManagerFleet.isRunnable))
    func aRotationAndADeleteOnOneManagerReachADelegateOnTheOther() throws {
        let fleet = try TwoManagerFleet()
        let delegate = try fleet.delegate(managers: fleet.secondAddress)
        let registered = try #require(delegate.line(containing: "registered"))
        let delegateID = try #require(FleetDelegate.value("delegate.id", in: registered))
        let tokens = try #require(try fleet.json(["token", "list"])["tokens"] as? [[String: Any]])
        let tokenID = try #require(tokens.first?["id"] as? String)

        // The successor's value travels to the other node sealed in the store, never in the control message.
        let rotated = try fleet.json(["token", "rotate", tokenID])
        #expect((rotated["acknowledged"] as? NSNumber)?.intValue == 1, "switched on the other node: \(rotated)")
        #expect(delegate.line(containing: "token rotated by the manager") != nil)

        let deleted = try fleet.legatectl(["delegate", "delete", delegateID])
        #expect(deleted.status == 0, "\(deleted.error)")
        #expect(delegate.line(containing: "SELF_DESTRUCT") != nil)
        #expect(delegate.exitStatus(timeout: .seconds(20)) == 3)
    }
}
