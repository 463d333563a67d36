import LegateCore
import LegateNet
import LegateWire
import Synchronization

/// What became of one push (SELF_DESTRUCT, TOKEN_ROTATED): `.sent` first, then exactly one final outcome.
public enum PushEvent: Sendable, Equatable {
    /// The push was written to the connection.
    case sent
    /// The delegate acknowledged it (PUSH_ACK); the connection closes.
    case acknowledged
    /// The connection closed before an acknowledgement arrived.
    case closedWithoutAcknowledgement
    /// The connection was already closing; nothing was sent.
    case notSent
}

/// A live delegate connection as the registry sees it: something that can be told things from any thread.
public protocol LiveDelegateConnection: AnyObject, Sendable {
    /// The event loop that owns the connection (fan-outs batch their work per loop).
    var eventLoop: EventLoop { get }
    /// On `eventLoop` only: sends SELF_DESTRUCT; the connection closes once acknowledged.
    /// `progress` runs on the loop with `.sent`, then the final outcome.
    func pushSelfDestructOnLoop(reason: String, tokenID: String, progress: @escaping @Sendable (PushEvent) -> Void)
    /// On `eventLoop` only: closes the connection if a SELF_DESTRUCT is still unacknowledged (the deadline passed).
    func closeIfSelfDestructUnacknowledged()
    /// Pushes TOKEN_ROTATED; on the delegate's PUSH_ACK the connection is moved to `message.newTokenID`.
    /// `progress` runs on the connection's loop with `.sent`, then the final outcome.
    func sendTokenRotated(_ message: TokenRotated, progress: @escaping @Sendable (PushEvent) -> Void)
    /// Closes because a newer connection of the same delegate replaced this one.
    func supersede()
    /// Pushes APPROVAL_DECISION for `record` (already durable): approved, the delegate becomes available for
    /// tasks; rejected, the connection closes after the push. `progress` gets `.sent` or `.notSent`, on the loop.
    func pushApprovalDecision(
        _ decision: ApprovalDecision, record: DelegateRecord, progress: @escaping @Sendable (PushEvent) -> Void)
}

/// Delegate records and which of them are connected where; shared by all event loops.
///
/// Touched on registration, disconnection and admin reads, never per heartbeat (heartbeat times live in the
/// connection and reach the registry in batches), so one `Mutex` is enough.
public final class DelegateRegistry: Sendable {
    struct State {
        var records: [String: DelegateRecord] = [:]
        var idByInstance: [String: String] = [:]
        var live: [String: any LiveDelegateConnection] = [:]
        var liveByToken: [String: Set<String>] = [:]
        /// Ids of records in status pending.
        var pending: Set<String> = []
    }

    private let state = Mutex(State())
    /// Number of records in status pending, so the expiry check takes the lock only when some exist.
    private let pendingCount = Atomic<Int>(0)
    /// Told when a change may have added or removed key ring members (see `membershipMayHaveChanged`).
    let membershipObserver = Mutex<(@Sendable () -> Void)?>(nil)

    /// Creates an empty registry.
    public init() {}

    /// Loads records read from the store at start; nothing is connected yet.
    public func load(_ records: [DelegateRecord]) {
        self.state.withLock { state in
            for record in records {
                state.records[record.id] = record
                state.idByInstance[Self.instanceKey(record.accountID, record.instanceID)] = record.id
                self.track(record, in: &state)
            }
        }
    }

    /// The record of the delegate instance `instanceID` in `accountID`, if it registered before.
    public func record(accountID: String, instanceID: String) -> DelegateRecord? {
        self.state.withLock { state in
            state.idByInstance[Self.instanceKey(accountID, instanceID)].flatMap { state.records[$0] }
        }
    }

    /// The record with id `delegateID`.
    public func record(id delegateID: String) -> DelegateRecord? {
        self.state.withLock { $0.records[delegateID] }
    }

    /// All records of an account (or of every account when nil), by name.
    public func records(accountID: String?) -> [DelegateRecord] {
        self.state.withLock { state in
            state.records.values.filter { accountID == nil || $0.accountID == accountID }
        }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// Whether a connection is attached for `delegateID`.
    public func isConnected(_ delegateID: String) -> Bool {
        self.state.withLock { $0.live[delegateID] != nil }
    }

    /// Number of attached connections.
    public var connectedCount: Int {
        self.state.withLock { $0.live.count }
    }

    /// Stores `record` (already durable) and attaches its connection; returns the connection it replaced.
    public func attach(_ record: DelegateRecord, connection: any LiveDelegateConnection)
        -> (any LiveDelegateConnection)?
    {
        self.state.withLock { state in
            if let old = state.records[record.id], old.tokenID != record.tokenID {
                state.liveByToken[old.tokenID]?.remove(record.id)
            }
            state.records[record.id] = record
            state.idByInstance[Self.instanceKey(record.accountID, record.instanceID)] = record.id
            let previous = state.live.updateValue(connection, forKey: record.id)
            state.liveByToken[record.tokenID, default: []].insert(record.id)
            self.track(record, in: &state)
            return previous.flatMap { $0 === connection ? nil : $0 }
        }
    }

    /// Detaches `connection` if it is still the current one of `delegateID` and marks the delegate disconnected
    /// at `at` (destroyed when the connection ended after SELF_DESTRUCT); returns the updated record to persist,
    /// or nil if a newer connection took over.
    public func detach(
        delegateID: String, connection: any LiveDelegateConnection, at: Int64, selfDestructed: Bool = false
    ) -> DelegateRecord? {
        self.state.withLock { state in
            guard let current = state.live[delegateID], current === connection,
                var record = state.records[delegateID]
            else { return nil }
            state.live[delegateID] = nil
            state.liveByToken[record.tokenID]?.remove(delegateID)
            if selfDestructed, record.status != .rejected {
                // Told to stop for good (a deleted delegate is already gone from here, so it never gets this
                // far): listed as destroyed, not as merely disconnected, until pruned.
                record.status = .destroyed
            } else if record.status == .active {
                record.status = .disconnected  // a pending one stays pending: its decision is still open
            }
            self.track(record, in: &state)
            record.disconnectedAt = at
            record.connectedSince = nil
            record.nodeID = nil
            state.records[delegateID] = record
            return record
        }
    }

    /// Moves the attached delegate `delegateID` to `tokenID` (after a rotation); returns the record to persist,
    /// or nil if `connection` is no longer its current connection.
    public func moveToToken(delegateID: String, tokenID: String, connection: any LiveDelegateConnection)
        -> DelegateRecord?
    {
        self.state.withLock { state in
            guard let current = state.live[delegateID], current === connection,
                var record = state.records[delegateID]
            else { return nil }
            state.liveByToken[record.tokenID]?.remove(delegateID)
            record.tokenID = tokenID
            state.records[delegateID] = record
            state.liveByToken[tokenID, default: []].insert(delegateID)
            return record
        }
    }

    /// The latest registration or heartbeat of any delegate on `tokenID` (Unix ms), if any.
    public func lastUsed(tokenID: String) -> Int64? {
        self.state.withLock { state in
            state.records.values.lazy.filter { $0.tokenID == tokenID }
                .compactMap { [$0.lastHeartbeatAt, $0.connectedSince].compactMap { $0 }.max() }.max()
        }
    }

    /// Applies heartbeat times gathered by the loops; returns the marks for delegates still known.
    public func recordHeartbeats(_ marks: [HeartbeatMark]) -> [HeartbeatMark] {
        self.state.withLock { state in
            marks.filter { mark in
                guard state.records[mark.delegateID] != nil else { return false }
                state.records[mark.delegateID]?.lastHeartbeatAt = mark.at
                return true
            }
        }
    }

    /// The connections currently attached for delegates registered with `tokenID`.
    public func connections(tokenID: String) -> [(delegateID: String, connection: any LiveDelegateConnection)] {
        self.state.withLock { state in
            (state.liveByToken[tokenID] ?? []).compactMap { id in state.live[id].map { (id, $0) } }
        }
    }

    /// Number of attached connections of delegates registered with `tokenID`.
    public func connectedCount(tokenID: String) -> Int {
        self.state.withLock { $0.liveByToken[tokenID]?.count ?? 0 }
    }

    /// Whether any record is pending (one atomic load).
    var hasPending: Bool { self.pendingCount.load(ordering: .relaxed) > 0 }

    /// Runs `body` on the records under the lock.
    func modify<T>(_ body: (inout State) -> T) -> T {
        self.state.withLock { body(&$0) }
    }

    /// Reads under the lock.
    func withState<T>(_ body: (State) -> T) -> T {
        self.state.withLock { body($0) }
    }

    /// Keeps the pending set and its count in step with `record` (call under the lock after storing it).
    func track(_ record: DelegateRecord, in state: inout State) {
        if record.status == .pending {
            state.pending.insert(record.id)
        } else {
            state.pending.remove(record.id)
        }
        self.pendingCount.store(state.pending.count, ordering: .relaxed)
    }

    static func instanceKey(_ accountID: String, _ instanceID: String) -> String {
        accountID + "\u{0}" + instanceID
    }
}
