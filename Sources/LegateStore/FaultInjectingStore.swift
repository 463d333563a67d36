public import LegateCore
import Dispatch
import Synchronization

/// Wraps a StateStore and fails chosen `apply` calls, SQLite-style: the failing call
/// writes nothing. Reads pass through. For tests of the layers above the store.
public final class FaultInjectingStore: StateStore {
    /// When and how applies fail.
    public struct Fault: Sendable, Equatable {
        /// The 1-based index of the first apply call that fails.
        public var failingApply: Int
        /// The error thrown.
        public var error: StoreError
        /// True: only that call fails. False: it and every later call fail (a disk that stays full).
        public var isTransient: Bool

        /// Creates a fault.
        public init(failingApply: Int, error: StoreError, isTransient: Bool) {
            self.failingApply = failingApply
            self.error = error
            self.isTransient = isTransient
        }
    }

    private struct Counters {
        var fault: Fault?
        var applyCalls = 0
        var faultsInjected = 0
    }

    /// Applies held at the gate while paused.
    private struct Gate {
        var isPaused = false
        var waiting: [DispatchSemaphore] = []
    }

    private let wrapped: any StateStore
    /// The store this one wraps.
    var wrappedStore: any StateStore { self.wrapped }
    private let counters: Mutex<Counters>
    private let gate = Mutex(Gate())
    private let arrivals = DispatchSemaphore(value: 0)

    /// Wraps `store`; with a nil `fault` every call passes through.
    public init(wrapping store: any StateStore, fault: Fault?) {
        self.wrapped = store
        self.counters = Mutex(Counters(fault: fault))
    }

    /// Number of apply calls seen so far (failed ones included).
    public var applyCalls: Int { self.counters.withLock { $0.applyCalls } }

    /// Number of apply calls that were failed on purpose.
    public var faultsInjected: Int { self.counters.withLock { $0.faultsInjected } }

    /// Replaces the fault (nil: heal) and resets the call counter.
    public func setFault(_ fault: Fault?) {
        self.counters.withLock { $0 = Counters(fault: fault) }
    }

    /// Holds every later apply until `resumeApplies()`: a durable write that takes its time, for tests of what
    /// callers do meanwhile.
    public func pauseApplies() {
        self.gate.withLock { $0.isPaused = true }
    }

    /// Waits until an apply is held at the paused gate; false if none arrived within `timeout`.
    public func waitForHeldApply(timeout: Duration) -> Bool {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        return self.arrivals.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds))) == .success
    }

    /// Lets the held applies (and every later one) through.
    public func resumeApplies() {
        let held = self.gate.withLock { gate -> [DispatchSemaphore] in
            gate.isPaused = false
            defer { gate.waiting.removeAll() }
            return gate.waiting
        }
        for semaphore in held { semaphore.signal() }
    }

    /// Applies through the wrapped store unless this call is chosen to fail; waits first while paused.
    public func apply(_ writes: [StoreWrite]) throws(StoreError) {
        let held = self.gate.withLock { gate -> DispatchSemaphore? in
            guard gate.isPaused else { return nil }
            let semaphore = DispatchSemaphore(value: 0)
            gate.waiting.append(semaphore)
            return semaphore
        }
        if let held {
            self.arrivals.signal()
            held.wait()
        }
        let injected: StoreError? = self.counters.withLock { counters in
            counters.applyCalls += 1
            guard let fault = counters.fault else { return nil }
            let hit = fault.isTransient
                ? counters.applyCalls == fault.failingApply
                : counters.applyCalls >= fault.failingApply
            guard hit else { return nil }
            counters.faultsInjected += 1
            return fault.error
        }
        if let injected { throw injected }
        try self.wrapped.apply(writes)
    }

    /// Passes through.
    public func account(id: String) throws(StoreError) -> AccountRecord? { try self.wrapped.account(id: id) }
    /// Passes through.
    public func accounts() throws(StoreError) -> [AccountRecord] { try self.wrapped.accounts() }
    /// Passes through.
    public func token(id: String) throws(StoreError) -> TokenRecord? { try self.wrapped.token(id: id) }
    /// Passes through.
    public func tokens(accountID: String) throws(StoreError) -> [TokenRecord] {
        try self.wrapped.tokens(accountID: accountID)
    }
    /// Passes through.
    public func allTokens() throws(StoreError) -> [TokenRecord] { try self.wrapped.allTokens() }
    /// Passes through.
    public func delegate(id: String) throws(StoreError) -> DelegateRecord? { try self.wrapped.delegate(id: id) }
    /// Passes through.
    public func delegate(accountID: String, instanceID: String) throws(StoreError) -> DelegateRecord? {
        try self.wrapped.delegate(accountID: accountID, instanceID: instanceID)
    }
    /// Passes through.
    public func delegates(accountID: String) throws(StoreError) -> [DelegateRecord] {
        try self.wrapped.delegates(accountID: accountID)
    }
    /// Passes through.
    public func allDelegates() throws(StoreError) -> [DelegateRecord] { try self.wrapped.allDelegates() }
    /// Passes through.
    public func auditRecords(accountID: String?, filter: AuditFilter, limit: Int) throws(StoreError) -> [AuditRecord] {
        try self.wrapped.auditRecords(accountID: accountID, filter: filter, limit: limit)
    }
    /// Passes through (a deletion is housekeeping, not one of the writes faults are injected into).
    public func deleteExpiredAudit(_ retention: AuditRetention, nowMilliseconds: Int64) throws(StoreError) -> Int {
        try self.wrapped.deleteExpiredAudit(retention, nowMilliseconds: nowMilliseconds)
    }
    /// Passes through.
    public func metadata(key: String) throws(StoreError) -> String? { try self.wrapped.metadata(key: key) }

    /// Reads pass through.
    public func adminKey(id: String) throws(StoreError) -> AdminKeyRecord? { try self.wrapped.adminKey(id: id) }

    /// Reads pass through.
    public func adminKeys(accountID: String) throws(StoreError) -> [AdminKeyRecord] {
        try self.wrapped.adminKeys(accountID: accountID)
    }

    /// Reads pass through.
    public func profiles(accountID: String) throws(StoreError) -> [ProfileRecord] {
        try self.wrapped.profiles(accountID: accountID)
    }

    /// Reads pass through.
    public func allProfiles() throws(StoreError) -> [ProfileRecord] { try self.wrapped.allProfiles() }

    /// Every key ring, by account and name.
    public func allKeyRings() throws(StoreError) -> [KeyRingRecord] { try self.wrapped.allKeyRings() }

    /// Every sealed ring key copy, by ring, version and delegate.
    public func allRingKeyCopies() throws(StoreError) -> [RingKeyCopyRecord] { try self.wrapped.allRingKeyCopies() }

    /// Every secret, by account and name.
    public func allSecrets() throws(StoreError) -> [SecretRecord] { try self.wrapped.allSecrets() }

    /// Every secret version, by secret and version.
    public func allSecretVersions() throws(StoreError) -> [SecretVersionRecord] { try self.wrapped.allSecretVersions() }
}
