import LegateAuth
import LegateCore
import LegateNet
import LegateStore

/// Admin API keys: creates them (the value shown once, only its hash stored) and authenticates a key value
/// into an `AdminSession`. Blocking (store reads and durable writes): call it off the event loops.
final class AdminKeyService: Sendable {
    private let store: any StateStore
    private let writer: StoreWriter
    private let clock: any ServiceClock
    private let audit: AuditService

    /// Creates the service over the store (key lookups) and the writer.
    init(store: any StateStore, writer: StoreWriter, clock: any ServiceClock, audit: AuditService) {
        self.store = store
        self.writer = writer
        self.clock = clock
        self.audit = audit
    }

    /// Creates an admin API key in `accountID` with `permissions` at `scope`; returns it (the value is shown once).
    func create(
        accountID: String, name: String, permissions: [AdminPermission], actor: String, scope: Scope = .account
    ) throws(AdminError) -> AdminAPIKey {
        try self.createKey(
            accountID: accountID, name: name, permissions: permissions, actor: actor, scope: scope, expiresAt: nil
        ).key
    }

    /// Creates a key as `create` does; `expiresAt` (Unix ms) ends it then: authentication refuses it from that
    /// time on. Returns the key (its value shown once) and the stored record.
    func createKey(
        accountID: String, name: String, permissions: [AdminPermission], actor: String, scope: Scope,
        expiresAt: Int64?
    ) throws(AdminError) -> (key: AdminAPIKey, record: AdminKeyRecord) {
        let key = AdminAPIKey.generate()
        let now = self.clock.unixMilliseconds()
        let record = AdminKeyRecord(
            id: key.id, accountID: accountID, name: name, scope: scope.description, secretHash: key.secretHash,
            permissions: permissions.map(\.rawValue), createdAt: now, createdBy: actor, expiresAt: expiresAt)
        let row = self.audit.row(
            .adminKeyCreated(keyID: key.id, name: name, scope: scope.description, permissions: record.permissions),
            accountID: accountID, actor: actor, at: now)
        do throws(StoreError) {
            try self.writer.writeDurably([.upsertAdminKey(record), .appendAudit(row)])
        } catch {
            throw error.adminError
        }
        return (key, record)
    }

    /// The current time, Unix milliseconds.
    var now: Int64 { self.clock.unixMilliseconds() }

    /// The account's keys, oldest first.
    func keys(accountID: String) throws(StoreError) -> [AdminKeyRecord] {
        try self.store.adminKeys(accountID: accountID)
    }

    /// Stores a changed key with its audit row, durably.
    func store(_ record: AdminKeyRecord, event: AuditEvent, session: AdminSession) throws(AdminError) {
        let row = self.audit.row(event, accountID: session.accountID, actor: session.actor, at: self.now)
        do throws(StoreError) {
            try self.writer.writeDurably([.upsertAdminKey(record), .appendAudit(row)])
        } catch {
            throw error.adminError
        }
    }

    /// Checks an admin API key value presented by `peer`; the refusal never repeats the value.
    func authenticate(apiKey: String, peer: String) -> Result<AdminSession, AdminError> {
        let actor = "peer:\(peer)"
        guard let key = AdminAPIKey.parse(apiKey) else {
            self.audit.record(
                .adminAuthRefused(keyID: nil, reason: "malformed admin API key"), accountID: "", actor: actor)
            return .failure(
                AdminError(
                    code: .unauthenticated, message: "admin API key is malformed; keys look like lak_<id>_<secret>"))
        }
        let record: AdminKeyRecord?
        do throws(StoreError) {
            record = try self.store.adminKey(id: key.id)
        } catch {
            return .failure(.unavailable("the manager cannot read its store; retry later"))
        }
        guard let record, ConstantTime.equals(record.secretHash, key.secretHash) else {
            self.audit.record(
                .adminAuthRefused(keyID: key.id, reason: record == nil ? "unknown admin key" : "wrong secret"),
                accountID: record?.accountID ?? "", actor: actor)
            return .failure(AdminError(code: .unauthenticated, message: "admin API key \(key) is not valid"))
        }
        guard record.isUsable(at: self.clock.unixMilliseconds()) else {
            // The holder knows the secret, so saying why is safe and saves them guessing.
            let why = record.revokedAt != nil ? "revoked" : "expired"
            self.audit.record(
                .adminAuthRefused(keyID: key.id, reason: "\(why) key"), accountID: record.accountID, actor: actor)
            return .failure(
                AdminError(
                    code: .unauthenticated,
                    message: "admin API key \(key) is \(why); ask an account admin for a new key"))
        }
        guard let scope = try? Scope(parsing: record.scope) else {
            // Fail closed: a key whose stored scope cannot be read must not act at all.
            self.audit.record(
                .adminAuthRefused(keyID: record.id, reason: "stored scope is not valid"), accountID: record.accountID,
                actor: actor)
            return .failure(
                .permissionDenied("admin key \(key) has an unreadable scope; ask an account admin for a new key"))
        }
        let session = AdminSession(
            keyID: record.id, accountID: record.accountID,
            permissions: Set(record.permissions.compactMap(AdminPermission.init(rawValue:))), scope: scope)
        self.audit.record(
            .adminAuthenticated(keyID: record.id, peer: peer, scope: scope), accountID: record.accountID,
            actor: session.actor)
        return .success(session)
    }
}
