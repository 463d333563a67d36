import Foundation
import LegateAdminClient
import LegateAuth
import LegateCore
import LegateDelegate
import LegateManager
import LegateNet
import LegateTestSupport
import LegateWire
import Testing

/// A delegate driven frame by frame, to check the task protocol exactly (pushes, PUSH_ACK, reports, refusals).
final class ScriptedDelegate {
    let client: ProtocolPeer
    let delegateID: String
    private var nextStreamID: UInt32 = 3

    /// The next call stream id (odd, strictly increasing, as the manager enforces).
    func allocateStreamID() -> UInt32 {
        defer { self.nextStreamID += 2 }
        return self.nextStreamID
    }

    convenience init?(_ harness: ManagerHarness, instanceID: String, types: [String] = ["echo"], tags: [String] = [],
                      capacity: UInt32 = 1, profile: String = "", devicePublicKey: [UInt8] = []) {
        self.init(
            port: harness.port, caFile: harness.caFile, accountID: harness.accountID, token: harness.token,
            loop: harness.group.next(), instanceID: instanceID, types: types, tags: tags, capacity: capacity,
            profile: profile, devicePublicKey: devicePublicKey)
    }

    init?(port: Int, caFile: String, accountID: String, token: DelegateToken, loop: EventLoop, instanceID: String,
          types: [String] = ["echo"], tags: [String] = [], capacity: UInt32 = 1, profile: String = "",
          devicePublicKey: [UInt8] = []) {
        guard let client = ProtocolPeer.connect(port: port, caFile: caFile, loop: loop), client.hello() != nil
        else { return nil }
        let now = WallClock.unixSeconds()
        let claims = JWTClaims(
            subject: accountID, issuer: instanceID, audience: ["legate-manager"], issuedAt: now,
            notBefore: now, expiresAt: now + 600, jwtID: UUID().uuidString)
        var request = RegisterRequest()
        request.accountID = accountID
        request.instanceID = instanceID
        request.delegateName = instanceID
        request.hostname = "scripted"
        request.taskTypes = types
        request.tags = tags
        request.capacity = capacity
        request.profile = profile
        request.devicePublicKey = devicePublicKey
        request.jwt = JWTMinter.mint(claims: claims, keyID: token.id, key: token.hmacKey)
        client.send(Frame(type: .request, method: CallMethod.register.rawValue, streamID: 1, payload: request.protoBytes()))
        guard let answer = client.frames.next(), answer.type == .response,
            let response = try? RegisterResponse(protoBytes: answer.payload)
        else { return nil }
        self.client = client
        self.delegateID = response.delegateID
        self.state = response.state
    }

    /// The state the manager answered the registration with.
    let state: DelegateState

    /// The next TASK_ASSIGN push, acknowledged unless told otherwise.
    func nextAssignment(acknowledge: Bool = true, timeout: Duration = .seconds(10)) -> TaskAssignment? {
        guard let frame = self.client.frames.first(timeout: timeout, where: {
            $0.type == .push && $0.method == PushKind.taskAssign.rawValue
        }) else { return nil }
        if acknowledge {
            var ack = PushAck()
            ack.kind = UInt32(frame.method)
            self.client.send(Frame(type: .pushAck, method: frame.method, streamID: frame.streamID, payload: ack.protoBytes()))
        }
        return try? TaskAssignment(protoBytes: frame.payload)
    }

    /// The next TASK_CANCEL push.
    func nextCancel(timeout: Duration = .seconds(10)) -> TaskCancel? {
        self.client.frames.first(timeout: timeout, where: {
            $0.type == .push && $0.method == PushKind.taskCancel.rawValue
        }).flatMap { try? TaskCancel(protoBytes: $0.payload) }
    }

    /// Sends a report and returns the manager's answer: nil status for CallAck, else the refusal.
    func report(_ method: CallMethod, _ message: some ProtoMessage) -> Status? {
        let streamID = self.allocateStreamID()
        self.client.send(Frame(type: .request, method: method.rawValue, streamID: streamID, payload: message.protoBytes()))
        guard let answer = self.client.frames.first(where: { $0.streamID == streamID }) else {
            var timedOut = Status()
            timedOut.code = .deadlineExceeded
            return timedOut
        }
        return answer.type == .error ? (try? Status(protoBytes: answer.payload)) ?? Status() : nil
    }

    func start(_ assignment: TaskAssignment) -> Status? {
        var update = TaskUpdate()
        update.taskID = assignment.taskID
        update.attempt = assignment.attempt
        update.started = true
        update.logChunk = Array("starting\n".utf8)
        return self.report(.taskUpdate, update)
    }

    func finish(_ assignment: TaskAssignment, outcome: TaskOutcome = .succeeded, output: [UInt8]? = nil) -> Status? {
        var result = TaskResult()
        result.taskID = assignment.taskID
        result.attempt = assignment.attempt
        result.outcome = outcome
        result.output = output ?? assignment.payload
        return self.report(.taskResult, result)
    }
}

@Suite(.serialized) struct TaskProtocolTests {
    static func admin(_ harness: ManagerHarness, key: String? = nil) throws(AdminClientError) -> AdminClient {
        try AdminClient.connect(
            host: "127.0.0.1", port: harness.port, caFile: harness.caFile, serverName: "localhost",
            apiKey: key ?? harness.manager.report.newAdminKeyValue ?? "", loop: harness.group.next())
    }

    /// A shell payload the manager accepts at submit (it checks shell payloads against the documented JSON).
    static let shellPayload = #"{"command": "/bin/true"}"#

    static func spec(_ type: String = "echo", payload: String = "hi", selectors: [String] = [], key: String = "",
                     target: String = "", maxAttempts: UInt32 = 0, timeoutMs: UInt32 = 0) -> TaskSpec {
        var spec = TaskSpec()
        spec.type = type
        spec.payload = Array(payload.utf8)
        spec.selectors = selectors
        spec.idempotencyKey = key
        spec.targetDelegateID = target
        spec.maxAttempts = maxAttempts
        spec.timeoutMs = timeoutMs
        return spec
    }

    @Test func taskRunsThroughEveryStateAndTheResultIsKept() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        let delegate = try #require(ScriptedDelegate(harness, instanceID: "scripted-1"))
        let submitted = try admin.submitTask(Self.spec(payload: "hello"))
        #expect(submitted.state == .queued)
        #expect(submitted.id.hasPrefix("tsk_"))

        let assignment = try #require(delegate.nextAssignment())
        #expect(assignment.taskID == submitted.id)
        #expect(assignment.attempt == 1)
        #expect(assignment.type == "echo")
        #expect(assignment.payload == Array("hello".utf8))
        #expect(assignment.leaseMs > 0)
        #expect(eventually { (try? admin.task(id: submitted.id))?.state == .acknowledged })
        #expect(delegate.start(assignment) == nil)
        #expect(try admin.task(id: submitted.id).state == .running)
        #expect(delegate.finish(assignment) == nil)

        let final = try #require(try admin.waitForTasks(ids: [submitted.id], timeoutMs: 5_000).first)
        #expect(final.state == .succeeded)
        #expect(final.output == Array("hello".utf8))
        #expect(final.delegateID == delegate.delegateID)
        #expect(final.finishedAtMs >= final.createdAtMs)
        #expect(try admin.taskLogs(id: submitted.id).chunks.map(\.data) == [Array("starting\n".utf8)])
        #expect(try admin.tasks(state: .succeeded).map(\.id) == [submitted.id])
        // A second result for the same attempt is refused: the task is final.
        #expect(delegate.finish(assignment)?.code == .aborted)
    }

    @Test func lostDelegateMeansAttemptTwoAndTheStaleResultIsRefused() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        let first = try #require(ScriptedDelegate(harness, instanceID: "first"))
        let task = try admin.submitTask(Self.spec())
        let attemptOne = try #require(first.nextAssignment())
        #expect(first.start(attemptOne) == nil)
        first.client.close()
        #expect(first.client.waitUntilClosed())

        let second = try #require(ScriptedDelegate(harness, instanceID: "second"))
        let attemptTwo = try #require(second.nextAssignment())
        #expect(attemptTwo.taskID == task.id)
        #expect(attemptTwo.attempt == 2)

        // The first delegate comes back and reports on its old attempt: refused, the task is untouched.
        let returning = try #require(ScriptedDelegate(harness, instanceID: "first", types: ["other"]))
        let stale = returning.finish(attemptOne)
        #expect(stale?.code == .aborted)
        #expect(stale?.message.contains("stale") == true)
        // Reporting on the current attempt it does not hold is refused too.
        #expect(returning.finish(attemptTwo)?.code == .permissionDenied)
        #expect(second.finish(attemptTwo) == nil)
        let final = try #require(try admin.waitForTasks(ids: [task.id]).first)
        #expect(final.state == .succeeded && final.attempt == 2 && final.delegateID == second.delegateID)
    }

    @Test func revokingTheHoldersTokenRequeuesItsTask() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        let delegate = try #require(ScriptedDelegate(harness, instanceID: "soon-revoked"))
        let task = try admin.submitTask(Self.spec())
        let assignment = try #require(delegate.nextAssignment())
        #expect(delegate.start(assignment) == nil)
        var revoke = TokenRevokeRequest()
        revoke.tokenID = harness.token.id
        _ = try admin.call(.tokenRevoke, revoke, as: TokenRevokeResponse.self)
        #expect(delegate.client.waitUntilClosed())
        #expect(eventually { (try? admin.task(id: task.id))?.state == .queued })
        let requeued = try admin.task(id: task.id)
        #expect(requeued.waitingReason == "no connected active delegate supports task type 'echo'")
        #expect(requeued.attempt == 1)  // attempt 2 starts when a delegate with a valid token takes it
    }

    @Test func noEligibleDelegateIsReportedAndSelectorsRoute() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        let linux = try #require(ScriptedDelegate(harness, instanceID: "linux", tags: ["linux"]))
        let mac = try #require(ScriptedDelegate(harness, instanceID: "mac", tags: ["mac"]))
        let gpu = try admin.submitTask(Self.spec(selectors: ["gpu"]))
        let shell = try admin.submitTask(Self.spec("shell", payload: Self.shellPayload))
        let forMac = try admin.submitTask(Self.spec(selectors: ["mac"]))
        let forLinux = try admin.submitTask(Self.spec(selectors: ["linux"]))
        #expect(try #require(mac.nextAssignment()).taskID == forMac.id)
        #expect(try #require(linux.nextAssignment()).taskID == forLinux.id)
        #expect(try admin.task(id: gpu.id).waitingReason
            == "no connected active delegate supporting 'echo' has all tags [\"gpu\"]")
        #expect(try admin.task(id: shell.id).waitingReason == "no connected active delegate supports task type 'shell'")
        // It waits until it times out, then says why.
        let short = try admin.submitTask(Self.spec("shell", payload: Self.shellPayload, timeoutMs: 200))
        let final = try #require(try admin.waitForTasks(ids: [short.id], timeoutMs: 5_000).first)
        #expect(final.state == .timedOut)
        #expect(final.error == "no result within the task's timeout of 200 ms")
    }

    @Test func pendingDelegateGetsNoTaskUntilApproved() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        var profile = ProfileSpec()
        profile.name = "guarded"
        profile.requiresApproval = true
        _ = try admin.createProfile(profile)
        let pending = try #require(ScriptedDelegate(harness, instanceID: "newcomer", profile: "guarded"))
        #expect(pending.state == .pending)
        let task = try admin.submitTask(Self.spec())
        // Deterministic: the scheduler itself says nobody may take it, not a timed wait for a push that never comes.
        #expect(try admin.task(id: task.id).waitingReason == "no connected active delegate supports task type 'echo'")
        #expect(try admin.task(id: task.id).state == .queued)
        var decision = DelegateDecisionRequest()
        decision.delegateIds = [pending.delegateID]
        _ = try admin.decide(decision, approve: true)
        let assignment = try #require(pending.nextAssignment())
        #expect(assignment.taskID == task.id && assignment.attempt == 1)
        #expect(pending.finish(assignment) == nil)
        #expect(try admin.waitForTasks(ids: [task.id]).first?.state == .succeeded)
    }

    @Test func idempotencyKeyReturnsTheSameTask() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        let first = try admin.submitTask(Self.spec(key: "deploy-7"))
        let again = try admin.submitTask(Self.spec(key: "deploy-7"))
        #expect(again.id == first.id)
        let both = try admin.submitTasks([Self.spec(key: "k2"), Self.spec(key: "k2")])
        #expect(both.count == 2 && both[0].id == both[1].id)
        #expect(try admin.tasks().count == 2)
    }

    @Test func cancelReachesTheDelegateAndEndsTheTask() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        let delegate = try #require(ScriptedDelegate(harness, instanceID: "worker"))
        let task = try admin.submitTask(Self.spec())
        let assignment = try #require(delegate.nextAssignment())
        #expect(delegate.start(assignment) == nil)
        let requested = try admin.cancelTask(id: task.id, reason: "wrong build")
        #expect(requested.state == .running)
        let cancel = try #require(delegate.nextCancel())
        #expect(cancel.taskID == task.id && cancel.attempt == 1 && cancel.reason == "wrong build")
        #expect(delegate.finish(assignment, outcome: .cancelled) == nil)
        let final = try #require(try admin.waitForTasks(ids: [task.id]).first)
        #expect(final.state == .cancelled)
        #expect(throws: AdminClientError.self) { try admin.cancelTask(id: task.id) }
        #expect(throws: AdminClientError.refused(code: .notFound, message: "task tsk_nope does not exist")) {
            try admin.task(id: "tsk_nope")
        }
    }

    @Test func malformedAndInvalidRequestsAreRefusedWithReasons() throws {
        let harness = try ManagerHarness()
        let admin = try Self.admin(harness)
        #expect(throws: AdminClientError.refused(
            code: .invalidArgument, message: "task 0: type must be 1...64 bytes (e.g. \"echo\", \"shell\")")) {
            try admin.submitTask(Self.spec(""))
        }
        #expect(throws: AdminClientError.refused(
            code: .invalidArgument, message: "a TaskSubmit carries 1...1000 tasks, not 0")) {
            try admin.submitTasks([])
        }
        let delegate = try #require(ScriptedDelegate(harness, instanceID: "bad-reporter"))
        let garbageStream = delegate.allocateStreamID()
        let garbage = Frame(
            type: .request, method: CallMethod.taskResult.rawValue, streamID: garbageStream, payload: [0xff, 0xff])
        delegate.client.send(garbage)
        let refusal = try #require(delegate.client.frames.first { $0.streamID == garbageStream })
        #expect(refusal.type == .error)
        #expect((try? Status(protoBytes: refusal.payload))?.code == .invalidArgument)
        var unknown = TaskResult()
        unknown.taskID = "tsk_unknown"
        unknown.attempt = 1
        unknown.outcome = .succeeded
        #expect(delegate.report(.taskResult, unknown)?.code == .aborted)
        var noOutcome = TaskResult()
        noOutcome.taskID = "tsk_unknown"
        #expect(delegate.report(.taskResult, noOutcome)?.code == .invalidArgument)
    }

    @Test func submissionsBeyondTheLiveTaskLimitAreRefused() throws {
        let harness = try ManagerHarness { $0.tasks.maxLiveTasks = 5 }
        let admin = try Self.admin(harness)
        _ = try admin.submitTasks((0..<4).map { _ in Self.spec("nobody-runs-this") })
        #expect(throws: AdminClientError.refused(
            code: .resourceExhausted,
            message: "4 tasks are queued or running (limit 5); retry when some have finished")) {
            try admin.submitTasks([Self.spec(), Self.spec()])
        }
        #expect(try admin.submitTask(Self.spec()).state == .queued)  // one more still fits
    }

    @Test func restartedManagerFinishesQueuedAndRunningTasks() throws {
        let harness = try ManagerHarness()
        let key = harness.manager.report.newAdminKeyValue
        var admin = try Self.admin(harness)
        let delegate = try #require(ScriptedDelegate(harness, instanceID: "before"))
        let running = try admin.submitTask(Self.spec(payload: "r"))
        let queued = try admin.submitTasks([Self.spec(payload: "q1"), Self.spec(payload: "q2")])
        let attempt = try #require(delegate.nextAssignment())
        #expect(delegate.start(attempt) == nil)
        admin.close()
        try harness.restart()
        admin = try Self.admin(harness, key: key)
        #expect(try admin.task(id: running.id).state == .queued)
        #expect(try admin.task(id: running.id).attempt == 1)

        let after = try #require(ScriptedDelegate(harness, instanceID: "after", capacity: 4))
        var seen: [String: UInt32] = [:]
        for _ in 0..<3 {
            let assignment = try #require(after.nextAssignment())
            seen[assignment.taskID] = assignment.attempt
            #expect(after.finish(assignment) == nil)
        }
        #expect(seen[running.id] == 2)  // re-leased as a new attempt
        #expect(Set(seen.keys) == Set([running.id] + queued.map(\.id)))
        let finals = try admin.waitForTasks(ids: [running.id] + queued.map(\.id))
        #expect(finals.allSatisfy { $0.state == .succeeded })
        #expect(finals.map { String(decoding: $0.output, as: UTF8.self) } == ["r", "q1", "q2"])
    }
}
