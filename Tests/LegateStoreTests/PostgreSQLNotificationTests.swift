import Foundation
import LegateCore
import LegateTestSupport
import Testing

@testable import LegateStore

/// NOTIFY on a node's channel wakes that node's listener, and only that node's; the listener survives the server
/// going away and coming back.
@Suite struct PostgreSQLNotificationTests {
    /// Counts wakes and lets the test wait for the next ones (with a deadline, never a sleep).
    final class Wakes: Sendable {
        let mailbox = Mailbox<Int>()
        func wake() { self.mailbox.put(1) }
        /// Consumes every wake so far; true when at least one arrived within `timeout`.
        func arrived(within timeout: Duration = .seconds(10)) -> Bool {
            guard self.mailbox.next(timeout: timeout) != nil else { return false }
            while self.mailbox.next(timeout: .milliseconds(1)) != nil {}
            return true
        }
    }

    @Test func notifyWakesTheNamedNodeOnly() throws {
        let url = try PostgreSQLTestCluster.shared().newStoreURL()
        let store = try PostgreSQLStateStore(url: url)
        let a = Wakes()
        let b = Wakes()
        let listenerA = try #require(store.listen(nodeID: "node-a") { a.wake() })
        let listenerB = try #require(store.listen(nodeID: "node-b.2") { b.wake() })
        defer {
            listenerA.stop()
            listenerB.stop()
        }
        // Each listener wakes once when it starts listening (whatever came before was missed).
        #expect(a.arrived() && b.arrived())
        try store.notify(nodeIDs: ["node-b.2", "node-b.2"])
        #expect(b.arrived())
        #expect(!a.arrived(within: .milliseconds(300)), "node-a's channel was not notified")
        try store.notify(nodeIDs: ["node-a"])
        #expect(a.arrived())
    }

    @Test func theListenerReconnectsAfterTheServerCameBack() throws {
        // A cluster of its own: stopping the shared one would break the tests running beside this one.
        let cluster = try PostgreSQLTestCluster()
        defer { try? cluster.stop() }
        let store = try PostgreSQLStateStore(url: try cluster.newStoreURL())
        let wakes = Wakes()
        let listener = try #require(store.listen(nodeID: "node-a") { wakes.wake() })
        defer { listener.stop() }
        #expect(wakes.arrived())
        try cluster.stop()
        #expect(throws: StoreError.self) { try store.notify(nodeIDs: ["node-a"]) }
        try cluster.start()
        // Listening again wakes it (notifications sent meanwhile were lost), and later ones arrive.
        #expect(wakes.arrived(within: .seconds(15)))
        try store.notify(nodeIDs: ["node-a"])
        #expect(wakes.arrived())
    }
}
