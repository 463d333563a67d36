import LegateAuth
import LegateCore
import LegateNet
import LegateStore

/// Delegate tokens: create, list, show, copy, revoke (with the SELF_DESTRUCT fan-out), delete, rotate, and the
/// expiry sweep. Blocking (store reads, durable writes, fan-out waits): call it off the event loops.
final class TokenService: Sendable {
    /// Default time a revoke or rotation waits for PUSH_ACKs before reporting.
    static let acknowledgementDeadline: Duration = .seconds(2)
    /// Default overlap during which the old token keeps working after a rotation.
    static let defaultRotationOverlap: Duration = .seconds(300)

    let store: any StateStore
    let writer: StoreWriter
    let directory: TokenDirectory
    let validator: JWTValidator
    /// Registration `jti`s per token; a token that can no longer register needs no window.
    let replay: ReplayCache
    let registry: DelegateRegistry
    let masterKey: MasterKey
    let clock: any ServiceClock
    let audit: AuditService
    let fanOut: PushFanOut
    let log: any LogSink
    /// Where revocation fan-out durations are observed.
    let metrics: ManagerMetrics
    /// This node among the managers sharing the store: token changes are announced to the others.
    let cluster: NodeCluster
    /// Token names being created, keyed by (account, scope, name): the store has no unique index over them.
    private let names = Reservations()

    /// Creates the service over its dependencies.
    init(
        store: any StateStore, writer: StoreWriter, directory: TokenDirectory, validator: JWTValidator,
        replay: ReplayCache, registry: DelegateRegistry, masterKey: MasterKey, clock: any ServiceClock,
        audit: AuditService, fanOut: PushFanOut, log: any LogSink, cluster: NodeCluster,
        metrics: ManagerMetrics = ManagerMetrics()
    ) {
        self.cluster = cluster
        self.metrics = metrics
        self.store = store
        self.writer = writer
        self.directory = directory
        self.validator = validator
        self.replay = replay
        self.registry = registry
        self.masterKey = masterKey
        self.clock = clock
        self.audit = audit
        self.fanOut = fanOut
        self.log = log
    }

    // MARK: - Create

    /// Creates an active token named `name` at `scope` (names are unique within (account, scope)); returns its
    /// record and the value, which is never shown again. `expiresAt` (Unix ms) revokes it automatically then.
    func create(
        accountID: String, name: String, actor: String, expiresAt: Int64? = nil, scope: Scope = .account
    ) throws(AdminError) -> (record: TokenRecord, value: String) {
        guard !name.isEmpty, name.utf8.count <= RegistrationLimits.maxTextBytes else {
            throw .invalidArgument("token name must be 1...\(RegistrationLimits.maxTextBytes) bytes")
        }
        let taken = AdminError.failedPrecondition(
            "a token named \(name) already exists in scope \(scope) of account \(accountID); pick another name")
        let token = DelegateToken.generate()
        let key = accountID + "\u{0}" + scope.description + "\u{0}" + name
        let (record, controls) = try self.names.with(key, busy: taken) {
            () throws(AdminError) -> (TokenRecord, [NodeControl]) in
            let account: AccountRecord?
            let existing: [TokenRecord]
            do throws(StoreError) {
                account = try self.store.account(id: accountID)
                existing = try self.store.tokens(accountID: accountID)
            } catch {
                throw error.adminError
            }
            guard account != nil else { throw .notFound("account \(accountID) does not exist") }
            guard !existing.contains(where: { $0.name == name && $0.scope == scope.description }) else { throw taken }
            let now = self.clock.unixMilliseconds()
            let record = TokenRecord(
                id: token.id, accountID: accountID, name: name, scope: scope.description,
                sealedValue: TokenSealing.seal(token, tokenID: token.id, with: self.masterKey), status: .active,
                createdAt: now, createdBy: actor, expiresAt: expiresAt)
            let row = self.audit.row(
                .tokenCreated(
                    tokenID: token.id, name: name, scope: scope.description, redacted: token.redacted,
                    expiresAt: expiresAt),
                accountID: accountID, actor: actor, at: now)
            let controls = try self.writeAnnouncing(
                [.insertToken(record), .appendAudit(row)], .tokenChanged, subject: token.id)
            return (record, controls)
        }
        self.directory.upsert(record: record, token: token)
        // Once every node knows the token, a delegate may register with it on any of them.
        _ = self.cluster.outcomes(of: controls)
        return (record, token.value)
    }

    /// Creates a token for an admin session at `scope`, which the session's scope must cover.
    func create(name: String, scope: Scope, expiresAt: Int64?, session: AdminSession) throws(AdminError)
        -> (summary: TokenSummary, value: String)
    {
        guard session.scope.covers(scope) else {
            throw .permissionDenied(
                "admin key \(session.keyID) has scope \(session.scope), which does not cover scope "
                    + "\(scope); pass a --scope inside \(session.scope) or use a key with a wider scope")
        }
        let created = try self.create(
            accountID: session.accountID, name: name, actor: session.actor, expiresAt: expiresAt, scope: scope)
        return (try self.summary(id: created.record.id, session: session), created.value)
    }

    // MARK: - Read

    /// Tokens of an account with the number of delegates connected with each now.
    func summaries(accountID: String) throws(AdminError) -> [TokenSummary] {
        let records: [TokenRecord]
        do throws(StoreError) {
            records = try self.store.tokens(accountID: accountID)
        } catch {
            throw error.adminError
        }
        return records.map { record in
            TokenSummary(
                id: record.id, accountID: record.accountID, name: record.name, scope: record.scope,
                status: record.status, createdAt: record.createdAt, createdBy: record.createdBy,
                revokedAt: record.revokedAt, expiresAt: record.expiresAt,
                connectedDelegates: self.registry.connectedCount(tokenID: record.id),
                lastUsedAt: self.registry.lastUsed(tokenID: record.id))
        }
    }

    /// The tokens the session's key may see, optionally only those whose name contains `nameContains`.
    func list(session: AdminSession, nameContains: String = "") throws(AdminError) -> [TokenSummary] {
        try self.summaries(accountID: session.accountID)
            .filter { session.scope.covers(stored: $0.scope) }
            .filter { nameContains.isEmpty || $0.name.contains(nameContains) }
    }

    /// One token as the session's key may see it.
    func summary(id: String, session: AdminSession) throws(AdminError) -> TokenSummary {
        _ = try self.owned(id: id, session: session)
        guard let summary = try self.summaries(accountID: session.accountID).first(where: { $0.id == id }) else {
            throw .notFound("token \(id) does not exist")
        }
        return summary
    }

    /// The token if it is in the key's account and its scope is covered by the key's; otherwise NOT_FOUND, or
    /// PERMISSION_DENIED naming both scopes (never a silent success).
    func owned(id: String, session: AdminSession) throws(AdminError) -> TokenRecord {
        guard let record = try self.stored(id: id), record.accountID == session.accountID else {
            throw .notFound("token \(id) does not exist in this account; see `legatectl token list`")
        }
        guard session.scope.covers(stored: record.scope) else {
            throw .permissionDenied(
                "admin key \(session.keyID) has scope \(session.scope), which does not cover token \(id) "
                    + "in scope \(record.scope.prefix(200)); use a key whose scope covers it")
        }
        return record
    }

    /// Whether the key may see a delegate on a token id: when the token exists, its scope must be covered; a
    /// delegate whose token was deleted is shown to account keys only.
    func visibility(session: AdminSession) throws(AdminError) -> @Sendable (String) -> Bool {
        let scopes = Dictionary(
            try self.summaries(accountID: session.accountID).map { ($0.id, $0.scope) },
            uniquingKeysWith: { first, _ in first })
        let keyScope = session.scope
        return { tokenID in
            guard let stored = scopes[tokenID] else { return keyScope == .account }
            return keyScope.covers(stored: stored)
        }
    }

    /// The token's value again (audited).
    func copy(id: String, session: AdminSession) throws(AdminError) -> String {
        let record = try self.owned(id: id, session: session)
        let token: DelegateToken
        do throws(ManagerError) {
            token = try TokenSealing.open(record, with: self.masterKey)
        } catch {
            throw error.adminError
        }
        self.audit.record(.tokenCopied(tokenID: record.id, name: record.name, scope: record.scope), session: session)
        return token.value
    }

    // MARK: - Delete

    /// Deletes a revoked token the session owns.
    func delete(id: String, session: AdminSession) throws(AdminError) {
        _ = try self.owned(id: id, session: session)
        try self.delete(id: id, actor: session.actor)
    }

    /// Deletes a revoked token; an active one is refused with a clear error.
    func delete(id: String, actor: String) throws(AdminError) {
        guard let record = try self.stored(id: id) else {
            throw .notFound("token \(id) does not exist; list tokens with `legatectl token list`")
        }
        guard record.status == .revoked else {
            self.audit.record(
                .tokenDeleteRefused(tokenID: id, scope: record.scope), accountID: record.accountID, actor: actor)
            throw .failedPrecondition("token \(id) is active; revoke it first (`legatectl token revoke \(id)`)")
        }
        let row = self.audit.row(
            .tokenDeleted(tokenID: id, name: record.name, scope: record.scope), accountID: record.accountID,
            actor: actor)
        _ = try self.writeAnnouncing([.deleteToken(id: id), .appendAudit(row)], .tokenChanged, subject: id)
        self.directory.remove(tokenID: id)
        self.validator.evict(keyID: id)
        self.replay.remove(keyID: id)
    }

    // MARK: - Helpers

    /// The stored token, if any.
    func stored(id: String) throws(AdminError) -> TokenRecord? {
        do throws(StoreError) {
            return try self.store.token(id: id)
        } catch {
            throw error.adminError
        }
    }

    /// Writes durably; a store failure becomes UNAVAILABLE.
    func writeDurably(_ writes: [StoreWrite]) throws(AdminError) {
        do throws(StoreError) {
            try self.writer.writeDurably(writes)
        } catch {
            throw error.adminError
        }
    }
}
