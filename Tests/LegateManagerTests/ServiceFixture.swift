import LegateAuth
import LegateCore
import LegateNet
import LegateStore
import LegateTestSupport

@testable import LegateManager

/// The manager's services over an in-memory store and a manual clock, with no listener: sweeps are called by
/// the test at the clock's time.
final class ServiceFixture: Sendable {
    static let accountID = "acc-1"

    let clock = ManualClock(unixMilliseconds: 1_767_225_600_000)
    let store = InMemoryStateStore()
    /// What the services write through: the in-memory store, with faults and pauses on demand.
    let faults: FaultInjectingStore
    let log = InMemoryLogSink()
    let services: ManagerServices

    init(configure: (inout ManagerConfiguration) -> Void = { _ in }) throws {
        var configuration = ManagerConfiguration.defaults
        configure(&configuration)
        self.faults = FaultInjectingStore(wrapping: self.store, fault: nil)
        try self.store.apply([
            .insertAccount(AccountRecord(id: Self.accountID, name: "a", createdAt: self.clock.unixMilliseconds()))
        ])
        let writer = StoreWriter(store: self.faults, log: self.log)
        let tasks = TaskService(
            configuration: configuration.tasks, store: self.faults, writer: writer, log: self.log, clock: self.clock)
        try tasks.start()
        self.services = ManagerServices(
            configuration: configuration, store: self.faults, masterKey: MasterKey.generate(), clock: self.clock,
            tokens: TokenDirectory(), registry: DelegateRegistry(), profiles: ProfileDirectory(), writer: writer,
            log: self.log, tasks: tasks)
    }

    deinit { self.services.tasks.stop() }

    /// An account-wide session holding every permission.
    var session: AdminSession {
        AdminSession(
            keyID: "key-1", accountID: Self.accountID, permissions: Set(AdminPermission.allCases), scope: .account)
    }

    /// A delegate record of the fixture's account.
    func delegate(_ id: String, status: DelegateStatus, pendingExpiresAt: Int64? = nil) -> DelegateRecord {
        DelegateRecord(
            id: id, accountID: Self.accountID, instanceID: "inst-\(id)", name: id, hostname: "h",
            ipAddress: "127.0.0.1",
            version: "1", tags: [], taskTypes: ["echo"], profile: "default", tokenID: "tok", status: status,
            firstSeenAt: self.clock.unixMilliseconds(), pendingExpiresAt: pendingExpiresAt)
    }

    /// Audit actions recorded so far, oldest first.
    func auditActions() throws -> [String] {
        self.services.writer.flush()
        return try self.store.auditRecords(accountID: nil, limit: 1000).reversed().map(\.action)
    }
}
