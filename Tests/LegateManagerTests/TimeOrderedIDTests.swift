import Testing

@testable import LegateManager

/// Task identifiers drawn for a whole TaskSubmit at once: distinct, in the one-at-a-time format, ordered by time.
@Suite struct TimeOrderedIDTests {
    @Test func aBatchOfIDsIsDistinctAndShapedLikeSingleOnes() {
        let now: Int64 = 1_767_225_600_000
        let ids = ManagerServices.newTimeOrderedIDs(prefix: "tsk", now: now, count: 100)
        let single = ManagerServices.newTimeOrderedID(prefix: "tsk", now: now)
        #expect(ids.count == 100 && Set(ids).count == 100)
        let alphabet = Set("23456789abcdefghijkmnpqrstuvwxyz")
        for id in ids + [single] {
            #expect(id.hasPrefix("tsk_") && id.count == single.count && id.dropFirst(4).allSatisfy(alphabet.contains))
            #expect(id.prefix(14) == single.prefix(14))  // the same millisecond gives the same time part
        }
        #expect(ManagerServices.newTimeOrderedIDs(prefix: "tsk", now: now, count: 0).isEmpty)
        #expect(ManagerServices.newTimeOrderedID(prefix: "tsk", now: now + 1) > ids.max() ?? "")
    }
}
