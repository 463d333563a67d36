/// An authenticated admin connection: which key, in which account, allowed to do what.
public struct AdminSession: Sendable, Equatable {
    /// The key id (the audit actor is `admin:<keyID>`).
    public let keyID: String
    /// The account the key acts in.
    public let accountID: String
    /// Granted permissions.
    public let permissions: Set<AdminPermission>
    /// Where the key applies: it sees and acts only on tokens whose scope this covers.
    public let scope: Scope

    /// Creates the session of an accepted key.
    public init(keyID: String, accountID: String, permissions: Set<AdminPermission>, scope: Scope) {
        self.keyID = keyID
        self.accountID = accountID
        self.permissions = permissions
        self.scope = scope
    }

    /// The audit actor string.
    public var actor: String { "admin:\(self.keyID)" }

    /// Whether the key holds `permission` (`account:admin` holds them all).
    public func allows(_ permission: AdminPermission) -> Bool {
        self.permissions.contains(permission) || self.permissions.contains(.accountAdmin)
    }
}
