import Foundation
import LegateCore
import LegateTestSupport
import Testing

@testable import LegateStore

/// A `StateStore` backend under the store contract: every backend must pass `StoreContractTests`, and a new one
/// joins by adding its factory to `all`.
struct StoreFactory: Sendable, CustomTestStringConvertible {
    /// The backend's name in test output.
    let name: String
    /// Opens a fresh, empty store; `path` is a new file in a temporary directory (backends without files ignore it).
    let open: @Sendable (_ path: String) throws -> any StateStore

    var testDescription: String { self.name }

    /// SQLite on a file.
    static let sqlite = StoreFactory(name: "sqlite") { try SQLiteStateStore(path: $0) }
    /// In memory.
    static let memory = StoreFactory(name: "memory") { _ in InMemoryStateStore() }
    /// PostgreSQL: a new schema in the test run's shared throwaway cluster.
    static let postgresql = StoreFactory(name: "postgresql") { _ in
        try PostgreSQLStateStore(url: try PostgreSQLTestCluster.shared().newStoreURL())
    }
    /// Every backend the contract runs against.
    static let all: [StoreFactory] = [.sqlite, .memory, .postgresql]

    /// Runs `body` with a fresh store; files live in a temporary directory removed afterwards.
    func withStore(_ body: (any StateStore) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        try body(try self.open(directory.file("state.db")))
    }
}

/// A directory under the system temporary directory, removed on deinit.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("legate-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { self.url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: self.url) }
}

/// Everything a store holds, for equality checks.
struct Snapshot: Equatable {
    var accounts: [AccountRecord]
    var tokens: [TokenRecord]
    var delegates: [DelegateRecord]
    var audit: [AuditRecord]
    var metadata: String?

    init(_ store: any StateStore) throws {
        self.accounts = try store.accounts()
        self.tokens = try store.allTokens()
        self.delegates = try store.allDelegates()
        self.audit = try store.auditRecords(accountID: nil, limit: 10_000)
        self.metadata = try store.metadata(key: "k")
    }
}

/// Records used across tests.
enum Fixture {
    static let t0: Int64 = 1_763_900_000_000

    static func account(_ id: String = "acc-1", at offset: Int64 = 0) -> AccountRecord {
        AccountRecord(id: id, name: "Account \(id)", createdAt: Self.t0 + offset)
    }

    static func token(_ id: String, account: String = "acc-1", status: TokenStatus = .active, at offset: Int64 = 0)
        -> TokenRecord
    {
        TokenRecord(
            id: id, accountID: account, name: "token \(id)", scope: "project/org-1/proj-\(id)",
            sealedValue: [0, 1, 2, 0xFE, 0xFF] + Array(id.utf8), status: status, createdAt: Self.t0 + offset,
            createdBy: "admin:key-1", revokedAt: status == .revoked ? Self.t0 + 5 : nil,
            expiresAt: offset % 2 == 0 ? nil : Self.t0 + 86_400_000, lastUsedAt: nil)
    }

    static func delegate(
        _ id: String, account: String = "acc-1", instance: String? = nil, token: String = "tok-1",
        at offset: Int64 = 0
    ) -> DelegateRecord {
        DelegateRecord(
            id: id, accountID: account, instanceID: instance ?? "inst-\(id)", name: "delegate \(id)",
            hostname: "host-\(id).example", ipAddress: "10.0.0.7", version: "1.2.3", tags: ["linux", "gpu", "é ü"],
            taskTypes: ["shell", "http"], profile: "default", tokenID: token, status: .pending,
            firstSeenAt: Self.t0 + offset, connectedSince: Self.t0 + offset, lastHeartbeatAt: nil,
            disconnectedAt: nil)
    }

    static func audit(_ action: String, account: String = "acc-1", at offset: Int64 = 0) -> AuditRecord {
        AuditRecord(
            at: Self.t0 + offset, accountID: account, actor: "admin:key-1", action: action, target: "tok-1",
            outcome: "ok", detail: "detail of \(action)")
    }
}
