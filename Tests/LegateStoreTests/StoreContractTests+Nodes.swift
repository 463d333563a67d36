import LegateCore
import Testing

@testable import LegateStore

/// The store contract for manager nodes: leases, the delegates each holds, expiry, and the control queue.
extension StoreContractTests {
    static func connected(_ id: String, on node: String, status: DelegateStatus = .active) -> DelegateRecord {
        var record = Fixture.delegate(id)
        record.status = status
        record.nodeID = node
        return record
    }

    @Test(arguments: StoreFactory.all)
    func nodesRenewTheirLeasesAndCountTheirDelegates(kind: StoreFactory) throws {
        try kind.withStore { store in
            try store.apply([
                .insertAccount(Fixture.account()), .upsertDelegate(Self.connected("del-1", on: "node-a")),
                .upsertDelegate(Self.connected("del-2", on: "node-b")),
                .upsertDelegate(Self.connected("del-3", on: "node-b")),
            ])
            #expect(try store.delegate(id: "del-2")?.nodeID == "node-b")
            try store.renewNode(NodeRecord(id: "node-b", address: "b:7443", startedAt: 10, lastSeenAt: 20))
            try store.renewNode(NodeRecord(id: "node-a", address: "a:7443", startedAt: 5, lastSeenAt: 6))
            try store.renewNode(NodeRecord(id: "node-a", address: "a:7444", startedAt: 5, lastSeenAt: 30))
            #expect(
                try store.nodes() == [
                    NodeRecord(id: "node-a", address: "a:7444", startedAt: 5, lastSeenAt: 30, connectedDelegates: 1),
                    NodeRecord(id: "node-b", address: "b:7443", startedAt: 10, lastSeenAt: 20, connectedDelegates: 2),
                ])
        }
    }

    @Test(arguments: StoreFactory.all)
    func anExpiredNodeGoesWithItsSessionsAndQueuedControls(kind: StoreFactory) throws {
        try kind.withStore { store in
            try store.apply([
                .insertAccount(Fixture.account()), .upsertDelegate(Self.connected("del-1", on: "node-a")),
                .upsertDelegate(Self.connected("del-2", on: "node-b")),
                .upsertDelegate(Self.connected("del-3", on: "node-b", status: .pending)),
                .insertNodeControl(
                    NodeControl(id: "ctl-1", nodeID: "node-b", kind: .tokenRevoked, subject: "tok-1", createdAt: 1)),
                .insertNodeControl(
                    NodeControl(id: "ctl-2", nodeID: "node-a", kind: .tokenRevoked, subject: "tok-1", createdAt: 1)),
            ])
            try store.renewNode(NodeRecord(id: "node-a", address: "a:1", startedAt: 1, lastSeenAt: 100))
            try store.renewNode(NodeRecord(id: "node-b", address: "b:1", startedAt: 1, lastSeenAt: 50))
            try store.renewNode(NodeRecord(id: "node-c", address: "c:1", startedAt: 1, lastSeenAt: 10))
            // The caller's own node is never removed, however late its renewal.
            #expect(try store.removeExpiredNodes(lastSeenBefore: 60, keeping: "node-c", now: 500) == ["node-b"])
            #expect(try store.nodes().map(\.id) == ["node-a", "node-c"])
            let cleared = try #require(try store.delegate(id: "del-2"))
            #expect(cleared.nodeID == nil && cleared.connectedSince == nil && cleared.disconnectedAt == 500)
            #expect(cleared.status == .disconnected)
            #expect(try store.delegate(id: "del-3")?.status == .pending)
            #expect(try store.delegate(id: "del-1")?.nodeID == "node-a")
            #expect(try store.pendingControls(nodeID: "node-b", limit: 10).isEmpty)
            #expect(try store.pendingControls(nodeID: "node-a", limit: 10).map(\.id) == ["ctl-2"])
        }
    }

    @Test(arguments: StoreFactory.all)
    func controlsQueueUntilCompletedAndThenAge(kind: StoreFactory) throws {
        try kind.withStore { store in
            let first = NodeControl(
                id: "ctl-1", nodeID: "node-a", kind: .tokenRevoked, subject: "tok-1", detail: "leaked", createdAt: 10)
            let second = NodeControl(
                id: "ctl-2", nodeID: "node-a", kind: .delegateChanged, subject: "del-1", createdAt: 20)
            let other = NodeControl(
                id: "ctl-3", nodeID: "node-b", kind: .profileChanged, subject: "acc-1", createdAt: 5)
            try store.apply([.insertNodeControl(second), .insertNodeControl(first), .insertNodeControl(other)])
            #expect(try store.pendingControls(nodeID: "node-a", limit: 10) == [first, second])
            #expect(try store.pendingControls(nodeID: "node-a", limit: 1) == [first])
            #expect(throws: StoreError.self) { try store.apply([.insertNodeControl(first)]) }

            var done = first
            done.doneAt = 30
            done.connected = 3
            done.told = 2
            done.acknowledged = 1
            try store.completeControl(done)
            #expect(try store.pendingControls(nodeID: "node-a", limit: 10) == [second])
            #expect(try store.controls(ids: ["ctl-1", "missing"]) == [done])
            #expect(try store.deleteFinishedControls(before: 30) == 0)
            #expect(try store.deleteFinishedControls(before: 31) == 1)
            #expect(try store.controls(ids: ["ctl-1"]).isEmpty)
        }
    }

    @Test(arguments: StoreFactory.all)
    func aRevokeQueuedBehindDelegateAnnouncementsIsAppliedFirst(kind: StoreFactory) throws {
        try kind.withStore { store in
            let announcements = (0..<5).map {
                NodeControl(
                    id: "ctl-d\($0)", nodeID: "node-a", kind: .delegateChanged, subject: "del-\($0)",
                    createdAt: 10 + Int64($0))
            }
            let revoke = NodeControl(
                id: "ctl-r", nodeID: "node-a", kind: .tokenRevoked, subject: "tok-1", detail: "leaked", createdAt: 50)
            let profile = NodeControl(
                id: "ctl-p", nodeID: "node-a", kind: .profileChanged, subject: "acc-1", createdAt: 40)
            try store.apply(announcements.map { .insertNodeControl($0) } + [.insertNodeControl(revoke)])
            try store.apply([.insertNodeControl(profile)])
            // The other kinds first, oldest first; then the delegate announcements, oldest first.
            #expect(try store.pendingControls(nodeID: "node-a", limit: 1) == [profile])
            #expect(try store.pendingControls(nodeID: "node-a", limit: 10) == [profile, revoke] + announcements)
        }
    }

    @Test(arguments: [StoreFactory.sqlite, .postgresql])
    func aNodeReloadsOnlyItsOwnTasksAndTakesOverThoseOfAnExpiredNode(kind: StoreFactory) throws {
        try kind.withStore { store in
            try store.apply([.insertAccount(Fixture.account()), .insertTask(Self.task("t0"))])  // owned by nobody
            store.adoptNode("node-a")
            try store.apply([.insertTask(Self.task("t1", at: Fixture.t0 + 1))])
            store.adoptNode("node-b")
            try store.apply([.insertTask(Self.task("t2", at: Fixture.t0 + 2))])
            #expect(try store.unfinishedTasks().map(\.id) == ["t0", "t2"], "node-a's task is not node-b's to recover")
            try store.renewNode(NodeRecord(id: "node-a", address: "a:1", startedAt: 1, lastSeenAt: 10))
            try store.renewNode(NodeRecord(id: "node-b", address: "b:1", startedAt: 1, lastSeenAt: 100))
            #expect(try store.removeExpiredNodes(lastSeenBefore: 50, keeping: "node-b", now: 100) == ["node-a"])
            #expect(try store.unfinishedTasks().map(\.id) == ["t0", "t1", "t2"], "node-b took over node-a's task")
            #expect(try store.removeExpiredNodes(lastSeenBefore: 50, keeping: "node-b", now: 100).isEmpty)
            store.adoptNode("node-a")
            #expect(try store.unfinishedTasks().map(\.id) == ["t0"], "a node coming back does not run them twice")
        }
    }

    @Test(arguments: StoreFactory.all)
    func heartbeatMarksOfAnyIdAreWrittenInOneGo(kind: StoreFactory) throws {
        try kind.withStore { store in
            let ids = ["del-1", "del \"quoted\"", "del\\back", "del,{brace}", "é-ü"]
            try store.apply(
                [.insertAccount(Fixture.account())] + ids.map { .upsertDelegate(Fixture.delegate($0)) })
            var marks = ids.enumerated().map { HeartbeatMark(delegateID: $0.element, at: Fixture.t0 + Int64($0.offset)) }
            marks += (0..<1200).map { HeartbeatMark(delegateID: "unknown-\($0)", at: 1) }
            try store.apply([.recordHeartbeats(marks)])
            for (offset, id) in ids.enumerated() {
                #expect(try store.delegate(id: id)?.lastHeartbeatAt == Fixture.t0 + Int64(offset), "\(id)")
            }
        }
    }
}
