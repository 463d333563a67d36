import LegateAuth
import LegateCore
import LegateNet
import LegateWire

/// An admin API key value, `lak_<16-char id>_<52-char secret>` (260 bits of secret), self-identifying like
/// delegate tokens so the manager finds the key by id and secret scanners can spot a leaked one.
public struct AdminAPIKey: Sendable, Equatable, CustomStringConvertible {
    /// The key id (stored in the clear).
    public let id: String
    /// The whole value; shown once, never stored or logged.
    public let value: String
    let secret: String

    static let idLength = 16
    static let secretLength = 52
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)

    /// A new random key.
    public static func generate() -> AdminAPIKey {
        let id = Self.randomText(Self.idLength)
        let secret = Self.randomText(Self.secretLength)
        return AdminAPIKey(id: id, value: "lak_\(id)_\(secret)", secret: secret)
    }

    /// Parses a key value; nil when it is not shaped like one (the caller says so without echoing it).
    public static func parse(_ value: String) -> AdminAPIKey? {
        let parts = value.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "lak", parts[1].utf8.count == Self.idLength,
            parts[2].utf8.count == Self.secretLength,
            (Array(parts[1].utf8) + Array(parts[2].utf8)).allSatisfy({ Self.alphabet.contains($0) })
        else { return nil }
        return AdminAPIKey(id: String(parts[1]), value: value, secret: String(parts[2]))
    }

    /// SHA-256 of the secret part: all the store keeps.
    public var secretHash: [UInt8] { Self.sha256(Array(self.secret.utf8)) }

    /// Redacted form for logs and errors.
    public var description: String { "lak_\(self.id)_****" }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        SHA256Digest.hash(bytes)
    }

    private static func randomText(_ count: Int) -> String {
        String(decoding: SecureRandom.bytes(count).map { Self.alphabet[Int($0 & 31)] }, as: UTF8.self)
    }
}

extension Manager {
    /// Creates an admin API key in `accountID` with `permissions` at `scope`; returns it (the value is shown once).
    public func createAdminKey(
        accountID: String, name: String, permissions: [AdminPermission], actor: String, scope: Scope = .account
    ) throws(ManagerError) -> AdminAPIKey {
        let key = AdminAPIKey.generate()
        let now = WallClock.unixMilliseconds()
        let record = AdminKeyRecord(
            id: key.id, accountID: accountID, name: name, scope: scope.description, secretHash: key.secretHash,
            permissions: permissions.map(\.rawValue), createdAt: now, createdBy: actor)
        let audit = AuditRecord(
            at: now, accountID: accountID, actor: actor, action: "admin-key.create", target: key.id, outcome: "ok",
            detail: "name=\(name) scope=\(scope) permissions=\(record.permissions.joined(separator: ","))")
        try self.writeDurably([.upsertAdminKey(record), .appendAudit(audit)])
        return key
    }

    /// Checks an admin API key value; the refusal text never repeats the value.
    public func authenticateAdmin(apiKey: String, peer: String) -> Result<AdminSession, AdminRefusal> {
        guard let key = AdminAPIKey.parse(apiKey) else {
            self.services.audit(
                accountID: "", actor: "peer:\(peer)", action: "admin.auth", target: "-", outcome: "denied",
                detail: "malformed admin API key")
            return .failure(AdminRefusal(code: .unauthenticated, message: "admin API key is malformed; keys look like lak_<id>_<secret>"))
        }
        let record: AdminKeyRecord?
        do {
            record = try self.stateStore.adminKey(id: key.id)
        } catch {
            return .failure(AdminRefusal(code: .unavailable, message: "the manager cannot read its store; retry later"))
        }
        guard let record, record.revokedAt == nil, ConstantTime.equals(record.secretHash, key.secretHash) else {
            self.services.audit(
                accountID: record?.accountID ?? "", actor: "peer:\(peer)", action: "admin.auth", target: key.id,
                outcome: "denied", detail: record == nil ? "unknown admin key" : "wrong secret or revoked key")
            return .failure(AdminRefusal(code: .unauthenticated, message: "admin API key \(key) is not valid"))
        }
        guard let scope = try? Scope(parsing: record.scope) else {
            // Fail closed: a key whose stored scope cannot be read must not act at all.
            self.services.audit(
                accountID: record.accountID, actor: "peer:\(peer)", action: "admin.auth", target: record.id,
                outcome: "denied", detail: "stored scope is not valid")
            return .failure(
                AdminRefusal(
                    code: .permissionDenied,
                    message: "admin key \(key) has an unreadable scope; ask an account admin for a new key"))
        }
        let session = AdminSession(
            keyID: record.id, accountID: record.accountID,
            permissions: Set(record.permissions.compactMap(AdminPermission.init(rawValue:))), scope: scope)
        self.services.audit(
            accountID: record.accountID, actor: session.actor, action: "admin.auth", target: record.id, outcome: "ok",
            detail: "peer=\(peer) scope=\(scope)")
        return .success(session)
    }
}

/// Why an admin call or authentication was refused: the status the peer gets and a sentence it can act on.
public struct AdminRefusal: Error, Sendable, Equatable {
    /// Wire status code.
    public let code: StatusCode
    /// What happened and what to do.
    public let message: String

    /// Creates a refusal.
    public init(code: StatusCode, message: String) {
        self.code = code
        self.message = message
    }
}
