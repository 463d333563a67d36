import Dispatch
import Foundation
import LegateCore
import LegateNet
import LegateStore
import Synchronization

/// This manager as one node of a fleet sharing the store: its lease, the other live nodes, and the control
/// messages it sends them and waits on. With a single manager the same calls run and find no other node.
final class NodeCluster: Sendable {
    /// This node's id.
    let nodeID: String
    /// The address this node advertises (set once the listener bound its port).
    var address: String { self.advertised.withLock { $0 } }
    private let advertised: Mutex<String>
    /// When this node started, Unix milliseconds.
    let startedAt: Int64
    let configuration: NodeConfiguration
    private let store: any StateStore
    private let clock: any ServiceClock
    private let log: any LogSink
    /// Other live nodes as of the last lease renewal (registrations read it on the loops).
    private let peers = Mutex<[String]>([])
    /// Since when this node's renewals have succeeded without a failure (nil after a failed one).
    private let renewingSince = Mutex<Int64?>(nil)
    /// Notifications go out here, one at a time, never on a loop or inside a write.
    private let notifications = DispatchQueue(label: "legate.nodes.notify")
    /// Peers that missed renewals, as of the last read of the node table.
    private let quietPeers = Mutex<Set<String>>([])
    /// Whether a renewal succeeded once (a later one that finds no row means the lease was lost).
    private let hasRenewed = Atomic<Bool>(false)
    /// Called when a renewal found this node removed by another.
    let onLeaseLost = Mutex<(@Sendable () -> Void)?>(nil)
    /// Called after this node removed expired nodes and took over their tasks.
    let onTakeOver = Mutex<(@Sendable () -> Void)?>(nil)

    /// Creates the node; nothing is written until `renew`.
    init(
        nodeID: String, address: String, configuration: NodeConfiguration, store: any StateStore,
        clock: any ServiceClock, log: any LogSink
    ) {
        self.nodeID = nodeID
        self.advertised = Mutex(address)
        self.configuration = configuration
        self.store = store
        self.clock = clock
        self.log = log
        self.startedAt = clock.unixMilliseconds()
    }

    /// Sets the advertised address (the listener's bound port is known only after it started).
    func advertise(_ address: String) { self.advertised.withLock { $0 = address } }

    /// A node for a manager that shares its store with nobody (tests building services by hand).
    static func solitary(store: any StateStore, clock: any ServiceClock, log: any LogSink) -> NodeCluster {
        NodeCluster(
            nodeID: "local", address: "", configuration: NodeConfiguration(), store: store, clock: clock, log: log)
    }

    /// Renews this node's lease, removes nodes whose lease ran out (clearing their delegates' sessions) and
    /// refreshes the list of peers. Blocking (store writes).
    func renew() throws(StoreError) {
        let now = self.clock.unixMilliseconds()
        do throws(StoreError) {
            let existed = try self.store.renewNode(
                NodeRecord(id: self.nodeID, address: self.address, startedAt: self.startedAt, lastSeenAt: now))
            if !existed, self.hasRenewed.exchange(true, ordering: .acquiringAndReleasing) {
                // Another node took this one for dead (it could not renew for a whole lease) and cleared the
                // sessions of its delegates, which are still connected here: they are written again.
                self.log.log(.warning, "this node's lease had expired; writing its delegates' sessions again", [:])
                self.onLeaseLost.withLock { $0 }?()
            }
            self.hasRenewed.store(true, ordering: .releasing)
        } catch {
            self.renewingSince.withLock { $0 = nil }
            throw error
        }
        let lease = self.configuration.lease.int64Milliseconds
        let since = self.renewingSince.withLock { since in
            if since == nil { since = now }
            return since ?? now
        }
        // Only a node that has renewed its own lease for a whole lease judges others: after the store was away,
        // every node gets that long to renew before anyone is taken for dead.
        let removed = now - since < lease ? [] : try self.store.removeExpiredNodes(
            lastSeenBefore: now - lease, keeping: self.nodeID, now: now)
        for id in removed {
            self.log.log(
                .warning, "node lease expired; its delegate sessions were cleared and its tasks taken over",
                ["node.id": id])
        }
        if !removed.isEmpty { self.onTakeOver.withLock { $0 }?() }
        _ = try self.livePeers()
        _ = try self.store.deleteFinishedControls(before: now - 60_000)
    }

    /// Other nodes whose lease is current, read from the store now (admin actions must not miss a node that
    /// started a moment ago).
    func livePeers() throws(StoreError) -> [String] {
        let now = self.clock.unixMilliseconds()
        let others = try self.store.nodes().filter { $0.id != self.nodeID }
        let live = others.filter { $0.lastSeenAt >= now - self.configuration.lease.int64Milliseconds }.map(\.id)
        // A node that missed two renewals is probably gone: it is still sent controls, but nobody waits on it.
        let quiet = others.filter { $0.lastSeenAt < now - 3 * self.configuration.renewInterval.int64Milliseconds }
        self.quietPeers.withLock { $0 = Set(quiet.map(\.id)) }
        self.peers.withLock { $0 = live }
        return live
    }

    /// The peers as of the last renewal, without touching the store (safe on a loop).
    var cachedPeers: [String] { self.peers.withLock { $0 } }

    /// One control message of `kind` per node in `peers`, to write in the transaction of the change.
    func controls(_ kind: NodeControlKind, subject: String, detail: String = "", peers: [String]) -> [NodeControl] {
        let now = self.clock.unixMilliseconds()
        return peers.map {
            NodeControl(
                id: ManagerServices.newTimeOrderedID(prefix: "ctl", now: now), nodeID: $0, kind: kind,
                subject: subject, detail: detail, createdAt: now)
        }
    }

    /// Wakes the nodes `controls` are for, after their commit, off the caller's thread: a lost notification only
    /// delays them until their next poll.
    func notify(_ controls: [NodeControl]) {
        guard !controls.isEmpty else { return }
        let nodes = Array(Set(controls.map(\.nodeID)))
        self.notifications.async {
            do throws(StoreError) {
                try self.store.notify(nodeIDs: nodes)
            } catch {
                self.log.log(.debug, "node notification not sent; the node's poll picks the controls up", [
                    "error": error.description
                ])
            }
        }
    }

    /// Waits until every control in `controls` is done or `deadline` passed; returns the ones done. Polls the
    /// store (the receiving nodes write their outcomes there). Controls for a node that missed its last renewals
    /// (probably dead, its lease not run out yet) are not waited for. Blocking.
    func outcomes(of controls: [NodeControl], deadline: Duration? = nil) -> [NodeControl] {
        let quiet = self.quietPeers.withLock { $0 }
        let awaited = controls.filter { !quiet.contains($0.nodeID) }
        guard !awaited.isEmpty else { return [] }
        let ids = awaited.map(\.id)
        let step = Duration.milliseconds(10)
        let rounds = max(1, (deadline ?? self.configuration.outcomeDeadline).int64Milliseconds / 10)
        let pause = DispatchSemaphore(value: 0)
        var done: [NodeControl] = []
        for round in 0..<rounds {
            do throws(StoreError) {
                done = try self.store.controls(ids: ids).filter { $0.doneAt != nil }
            } catch {
                self.log.log(.warning, "node control outcomes unreadable", ["error": error.description])
            }
            if done.count == ids.count || round == rounds - 1 { break }
            _ = pause.wait(timeout: .now() + .milliseconds(Int(step.int64Milliseconds)))
        }
        return done
    }

    /// Reads `node-id` in `directory`, creating it with a fresh id on first start.
    static func loadOrCreateID(in directory: String) throws(ManagerError) -> String {
        let path = directory + "/" + NodeIdentity.fileName
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard NodeIdentity.isValid(id) else {
                throw .dataDirectory(path: path, reason: "it does not hold a valid node id; delete it to get a new one")
            }
            return id
        }
        let id = ManagerServices.newID(prefix: "node")
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((id + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw .dataDirectory(path: path, reason: "cannot write the node id file")
        }
        return id
    }
}
