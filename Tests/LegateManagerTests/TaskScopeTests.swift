import Foundation
import LegateAdminClient
import LegateAuth
import LegateCore
import LegateDelegate
@testable import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// Tasks follow admin-key scopes: a project key's task runs only on delegates whose token scope covers that
/// project (the project's own, its org's, or account-wide ones) and only keys covering it can see it.
@Suite(.serialized) struct TaskScopeTests {
    @Test func aProjectKeysTasksStayInsideItsProject() throws {
        let harness = try ManagerHarness()
        let admin = try TaskProtocolTests.admin(harness)
        var create = TokenCreateRequest()
        create.name = "web"
        create.scope = "project/acme/web"
        let webToken = try DelegateToken.parse(try admin.call(.tokenCreate, create, as: TokenCreateResponse.self).value)
        create.name = "api"
        create.scope = "project/acme/api"
        let apiToken = try DelegateToken.parse(try admin.call(.tokenCreate, create, as: TokenCreateResponse.self).value)
        func delegate(_ name: String, _ token: DelegateToken) -> ScriptedDelegate? {
            ScriptedDelegate(
                port: harness.port, caFile: harness.caFile, accountID: harness.accountID, token: token,
                loop: harness.group.next(), instanceID: name, capacity: 4)
        }
        let api = try #require(delegate("api-box", apiToken))
        let webKey = try harness.manager.services.adminKeys.create(
            accountID: harness.accountID, name: "web-ci", permissions: [.taskSubmit, .taskView], actor: "test",
            scope: try Scope(parsing: "project/acme/web")
        ).value
        let web = try AdminClient.connect(
            host: "127.0.0.1", port: harness.port, caFile: harness.caFile, serverName: "localhost", apiKey: webKey,
            loop: harness.group.next())

        // Only the other project's delegate is connected: the web task waits, and says why.
        let task = try web.submitTask(TaskProtocolTests.spec(payload: "deploy web"))
        #expect(try web.task(id: task.id).waitingReason
            == "no connected active delegate in scope project/acme/web or above supports task type 'echo'")
        let webBox = try #require(delegate("web-box", webToken))
        let assignment = try #require(webBox.nextAssignment())
        #expect(assignment.taskID == task.id)
        #expect(webBox.finish(assignment) == nil)
        #expect(try web.waitForTasks(ids: [task.id]).first?.delegateID == webBox.delegateID)
        #expect(api.client.frames.all.allSatisfy { $0.method != PushKind.taskAssign.rawValue })

        // An account-wide task is not the web key's to see or cancel; the account key sees both.
        let accountTask = try admin.submitTask(TaskProtocolTests.spec("nobody-runs-this"))
        #expect(throws: AdminClientError.refused(code: .notFound, message: "task \(accountTask.id) does not exist")) {
            try web.task(id: accountTask.id)
        }
        #expect(throws: AdminClientError.refused(code: .notFound, message: "task \(accountTask.id) does not exist")) {
            try web.cancelTask(id: accountTask.id)
        }
        #expect(try web.tasks().map(\.id) == [task.id])
        #expect(Set(try admin.tasks().map(\.id)) == [task.id, accountTask.id])
        // The web key cannot take over another scope's idempotency key either.
        _ = try admin.submitTask(TaskProtocolTests.spec("nobody-runs-this", key: "release-1"))
        #expect(throws: AdminClientError.self) { try web.submitTask(TaskProtocolTests.spec(key: "release-1")) }
    }
}
