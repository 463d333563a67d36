import Foundation
import LegateAdminClient
import LegateAuth
import LegateDelegate
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// The real `legate-manager` killed with SIGKILL in the middle of a task run: after a restart every task still
/// finishes, results acknowledged before the kill are kept, and tasks that were running come back as attempt 2.
@Suite(.serialized) struct KilledManagerTaskTests {
    /// Where a started manager process listens and what it printed.
    struct Banner {
        let port: Int
        let caFile: String
        let accountID: String
        let token: DelegateToken?
        let adminKey: String?
    }

    static func banner(_ process: KilledManagerTests.ManagerProcess, first: Bool) throws -> Banner {
        let address = try #require(process.value(after: "Legate manager listening on ")?.split(separator: " ").first)
        let port = try #require(Int(address.split(separator: ":").last ?? ""))
        let caFile = try #require(process.value(after: "  CA file (dev certificate): "))
        let accountID = try #require(process.value(after: "  account id: "))
        guard first else { return Banner(port: port, caFile: caFile, accountID: accountID, token: nil, adminKey: nil) }
        let token = try DelegateToken.parse(
            try #require(process.value(after: "  default delegate token (shown once, store it now): ")))
        let adminKey = try #require(
            process.value(after: "  bootstrap admin API key (shown once, store it now; all permissions): "))
        return Banner(port: port, caFile: caFile, accountID: accountID, token: token, adminKey: adminKey)
    }

    @Test(.enabled(if: KilledManagerTests.binariesBuilt)) func tasksFinishAfterTheManagerIsKilledMidRun() throws {
        let directory = NSTemporaryDirectory() + "legate-kill-tasks-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let group = EventLoopGroup(loopCount: 1)
        let firstProcess = try KilledManagerTests.ManagerProcess(dataDirectory: directory)
        let first = try Self.banner(firstProcess, first: true)
        let token = try #require(first.token)
        let adminKey = try #require(first.adminKey)
        var admin = try AdminClient.connect(
            host: "127.0.0.1", port: first.port, caFile: first.caFile, serverName: "localhost", apiKey: adminKey,
            loop: group.next())
        let ids = try admin.submitTasks((0..<200).map { TaskProtocolTests.spec(payload: "task-\($0)") }).map(\.id)
        let worker = try #require(ScriptedDelegate(
            port: first.port, caFile: first.caFile, accountID: first.accountID, token: token, loop: group.next(),
            instanceID: "worker", capacity: 5))
        var acknowledged: [String] = []
        var running: [String] = []
        for index in 0..<60 {
            let assignment = try #require(worker.nextAssignment())
            #expect(worker.start(assignment) == nil)
            if index < 55 {
                #expect(worker.finish(assignment) == nil)  // CallAck: this result is stored
                acknowledged.append(assignment.taskID)
            } else {
                running.append(assignment.taskID)
            }
        }
        firstProcess.kill()  // mid-run: 5 tasks running, 140 queued, no graceful shutdown

        let secondProcess = try KilledManagerTests.ManagerProcess(dataDirectory: directory)
        defer { secondProcess.kill() }
        let second = try Self.banner(secondProcess, first: false)
        admin = try AdminClient.connect(
            host: "127.0.0.1", port: second.port, caFile: second.caFile, serverName: "localhost", apiKey: adminKey,
            loop: group.next())
        for id in acknowledged.prefix(10) { #expect(try admin.task(id: id).state == .succeeded) }
        let helper = try #require(ScriptedDelegate(
            port: second.port, caFile: second.caFile, accountID: second.accountID, token: token, loop: group.next(),
            instanceID: "worker", capacity: 20))
        var attempts: [String: UInt32] = [:]
        while attempts.count < ids.count - acknowledged.count {
            let assignment = try #require(helper.nextAssignment(), "only \(attempts.count) tasks came back")
            #expect(attempts.updateValue(assignment.attempt, forKey: assignment.taskID) == nil, "assigned twice")
            #expect(helper.finish(assignment) == nil)
        }
        #expect(Set(attempts.keys).isDisjoint(with: acknowledged))  // stored results are never run again
        for id in running { #expect(attempts[id] == 2) }
        let finals = try admin.waitForTasks(ids: ids, timeoutMs: 20_000)
        #expect(finals.count == 200)
        #expect(finals.allSatisfy { $0.state == .succeeded })
        #expect(finals.map { String(decoding: $0.output, as: UTF8.self) } == (0..<200).map { "task-\($0)" })
    }
}
