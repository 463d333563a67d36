import LegateCore
import Testing

/// A task record shares its request fields between copies: changing them in one copy leaves the others as they were,
/// and equality still compares every field.
@Suite struct TaskRecordSharingTests {
    static let original = TaskRecord(
        id: "tsk-1", accountID: "acc-1", type: "echo", payload: [1, 2], selectors: ["gpu"], targetDelegateID: "del-1",
        timeoutMs: 1000, idempotencyKey: "key", maxAttempts: 3, submittedBy: "admin:k", createdAt: 5,
        scope: .org("ops"))

    @Test func changingACopyLeavesTheOriginal() {
        var copy = Self.original
        copy.id = "tsk-2"
        copy.selectors.append("arm")
        copy.scope = .account
        copy.timeoutMs = 7
        #expect(Self.original.id == "tsk-1" && Self.original.selectors == ["gpu"] && Self.original.scope == .org("ops"))
        #expect(Self.original.timeoutMs == 1000)
        #expect(copy.id == "tsk-2" && copy.selectors == ["gpu", "arm"] && copy.scope == .account && copy.timeoutMs == 7)
        #expect(copy.accountID == "acc-1" && copy.submittedBy == "admin:k" && copy.idempotencyKey == "key")
    }

    @Test func equalityComparesRequestAndState() {
        let rebuilt = TaskRecord(
            id: "tsk-1", accountID: "acc-1", type: "echo", payload: [1, 2], selectors: ["gpu"],
            targetDelegateID: "del-1", timeoutMs: 1000, idempotencyKey: "key", maxAttempts: 3, submittedBy: "admin:k",
            createdAt: 5, scope: .org("ops"))
        #expect(rebuilt == Self.original)
        var otherKey = Self.original
        otherKey.idempotencyKey = nil
        #expect(otherKey != Self.original)
        var otherTarget = Self.original
        otherTarget.targetDelegateID = "del-2"
        #expect(otherTarget != Self.original)
        var otherState = Self.original
        otherState.status = .running
        #expect(otherState != Self.original)
        var otherPayload = Self.original
        otherPayload.payload = []
        #expect(otherPayload != Self.original)
    }
}
