import LegateWire
import Testing

@testable import LegateCore

/// Tasks using secrets go only to delegates holding the current key of every ring involved; the others wait with
/// a reason naming the ring. Key ring members and device keys at registration.
struct TaskBoardSecretsTests {
    static func task(_ id: String, rings: [String]) -> TaskRecord {
        var task = TaskRecord(
            id: id, accountID: "acc", type: "shell", payload: [], timeoutMs: 60_000, maxAttempts: 3,
            submittedBy: "admin:k", createdAt: 0)
        task.secrets = rings.map {
            TaskSecretUse(envName: "V_\($0)", secretName: "s-\($0)", secretID: "sec_\($0)", ringID: "krg_\($0)",
                ringName: $0)
        }
        return task
    }

    static func slot(_ id: String, rings: Set<String> = []) -> TaskBoard.Slot {
        var slot = TaskBoard.Slot(delegateID: id, accountID: "acc", tags: [], taskTypes: ["shell"], capacity: 4)
        slot.rings = rings
        return slot
    }

    static func assigned(_ effects: [TaskBoard.Effect]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: effects.compactMap {
            if case .assign(let task) = $0 { return (task.id, task.delegateID ?? "") } else { return nil }
        })
    }

    @Test func aTaskWithSecretsGoesOnlyToAHolderOfEveryRing() {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("outsider"), now: 0)
        _ = board.delegateAvailable(Self.slot("half", rings: ["krg_prod"]), now: 0)
        _ = board.enqueue(Self.task("both", rings: ["prod", "ops"]), now: 0)
        _ = board.enqueue(Self.task("plain", rings: []), now: 0)
        let first = Self.assigned(board.dispatch(now: 1))
        #expect(first["both"] == nil)
        #expect(first["plain"] != nil)  // a task without secrets goes anywhere
        let waiting = board.waitingReason(for: board.task(id: "both") ?? Self.task("x", rings: []))
        #expect(waiting.contains("member of key ring ops holding"), "\(waiting)")  // prod is held: only ops named

        // The delegate gets a copy of the second ring: the task goes to it.
        let changed = board.setRings(["krg_prod", "krg_ops"], delegateID: "half")
        #expect(changed)
        #expect(Self.assigned(board.dispatch(now: 2))["both"] == "half")
    }

    @Test func ringsComeWithTheSlotAndAnUnknownDelegateChangesNothing() {
        var board = TaskBoard()
        let changed = board.setRings(["krg_prod"], delegateID: "late")
        #expect(!changed)
        _ = board.enqueue(Self.task("t", rings: ["prod"]), now: 0)
        _ = board.delegateAvailable(Self.slot("late"), now: 0)
        #expect(Self.assigned(board.dispatch(now: 1)).isEmpty)
        _ = board.delegateAvailable(Self.slot("late", rings: ["krg_prod"]), now: 2)  // reconnected with a copy
        #expect(Self.assigned(board.dispatch(now: 3))["t"] == "late")
    }

    @Test func aTargetedTaskNamesTheRingItsTargetLacks() {
        var board = TaskBoard()
        _ = board.delegateAvailable(Self.slot("d1"), now: 0)
        var task = Self.task("t", rings: ["prod"])
        task.targetDelegateID = "d1"
        _ = board.enqueue(task, now: 0)
        #expect(Self.assigned(board.dispatch(now: 1)).isEmpty)
        #expect(board.waitingReason(for: task).contains("key ring prod"))
    }

    @Test func membersAreApprovedDelegatesMatchingEveryCondition() {
        var delegate = DelegateRecord(
            id: "d", accountID: "acc", instanceID: "i", name: "n", hostname: "h", ipAddress: "", version: "",
            tags: ["vault", "eu"], taskTypes: [], profile: "linux", tokenID: "tok", status: .active, firstSeenAt: 0)
        #expect(RingMemberRule().admits(delegate))
        #expect(RingMemberRule(profile: "linux", tags: ["vault"], tokenID: "tok").admits(delegate))
        #expect(!RingMemberRule(tags: ["vault", "us"]).admits(delegate))
        #expect(!RingMemberRule(profile: "windows").admits(delegate))
        #expect(!RingMemberRule(tokenID: "other").admits(delegate))
        delegate.status = .disconnected  // still approved
        #expect(RingMemberRule().admits(delegate))
        for status in [DelegateStatus.pending, .rejected, .destroyed] {
            delegate.status = status
            #expect(!RingMemberRule().admits(delegate), "\(status)")
        }
    }

    @Test func aDeviceKeyIsKeptOnTheRecordAndAWrongSizeIsRefused() {
        var request = RegisterRequest()
        request.accountID = "acc"
        request.instanceID = "ins"
        request.delegateName = "d"
        request.jwt = "h.p.s"
        request.devicePublicKey = Array(repeating: 7, count: 31)
        #expect(RegistrationDecision.fieldProblem(in: request)?.contains("device_public_key of 31 bytes") == true)
        request.devicePublicKey = Array(repeating: 7, count: 32)
        #expect(RegistrationDecision.fieldProblem(in: request) == nil)
        let profile = ProfileRecord(id: "p", accountID: "acc", name: "default", createdAt: 0, updatedAt: 0)
        let context = RegistrationContext(
            existing: nil, profile: profile, peerAddress: "10.0.0.1:1", now: 5, pendingExpiry: .seconds(60),
            newDelegateID: "dlg")
        let admission = RegistrationDecision.admission(request, tokenID: "tok", profile: profile, context: context)
        #expect(admission.record.devicePublicKey == Array(repeating: 7, count: 32))
    }
}
