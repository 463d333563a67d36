import LegateWire
import Testing

/// The header numbers generated from Proto/legate.proto's CallMethod, AdminMethod and PushKind enums.
@Suite("frame header numbers generated from legate.proto")
struct FrameMethodTests {
    @Test func callMethodsAreTheDelegateCallsBelowOneHundred() {
        #expect(CallMethod.allCases.map(\.rawValue) == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        #expect(CallMethod.register.rawValue == 1 && CallMethod.startupScriptReport.rawValue == 5
                && CallMethod.leave.rawValue == 6 && CallMethod.secretOpened.rawValue == 7)
    }

    @Test func adminMethodsStartAtOneHundredAndTaskCallsAtOneThirty() {
        #expect(AdminMethod.allCases.allSatisfy { $0.rawValue >= 100 })
        #expect(AdminMethod.authenticate.rawValue == 100 && AdminMethod.tokenCreate.rawValue == 101)
        #expect(AdminMethod.delegateDelete.rawValue == 118 && AdminMethod.taskWait.rawValue == 135)
        #expect(AdminMethod.allCases.filter(\.isTaskCall) == [
            .taskSubmit, .taskGet, .taskList, .taskCancel, .taskLogs, .taskWait,
        ])
        #expect(AdminMethod(rawValue: 0) == nil && AdminMethod(rawValue: 119) == nil)
        #expect(AdminMethod.keyRingCreate.rawValue == 140 && AdminMethod.secretCreate.rawValue == 150)
        #expect(!AdminMethod.keyRingCreate.isTaskCall && !AdminMethod.secretDelete.isTaskCall)
    }

    @Test func pushKindsHaveNoGapAndIncludeTokenRotated() {
        #expect(PushKind.allCases.map(\.rawValue) == [1, 2, 3, 4, 5, 6, 7])
        #expect(PushKind.tokenRotated.rawValue == 3 && PushKind.ringRotate.rawValue == 7)
        #expect(PushKind(rawValue: 0) == nil && PushKind(rawValue: 8) == nil)
    }

    @Test func callAndAdminNumbersDoNotOverlap() {
        let calls = Set(CallMethod.allCases.map(\.rawValue))
        #expect(calls.isDisjoint(with: AdminMethod.allCases.map(\.rawValue)))
    }
}
