// Delegate profiles: what registering with a profile means. Pure values, persisted by LegateStore.

/// One auto-approval rule: a pending registration that satisfies every condition given is admitted at once.
public struct ApprovalRule: Sendable, Equatable, Codable {
    /// The peer address must fall in one of these networks (IPv4 or IPv6 CIDR); empty: any address.
    public var sourceCIDRs: [String]
    /// Glob over the reported hostname (`*` any run, `?` one character); empty: any hostname.
    public var hostnamePattern: String
    /// The delegate's token id must equal this; empty: any token.
    public var tokenID: String

    /// Creates a rule; an empty condition does not restrict.
    public init(sourceCIDRs: [String] = [], hostnamePattern: String = "", tokenID: String = "") {
        self.sourceCIDRs = sourceCIDRs
        self.hostnamePattern = hostnamePattern
        self.tokenID = tokenID
    }
}

/// A delegate profile of one account; `default` exists in every account and cannot be deleted.
public struct ProfileRecord: Sendable, Equatable, Codable {
    /// The name every account has and delegates without a profile use.
    public static let defaultName = "default"

    /// Profile identifier.
    public var id: String
    /// Owning account.
    public var accountID: String
    /// Name, unique per account.
    public var name: String
    /// New delegates registering with it wait as pending unless an auto-approval rule admits them.
    public var requiresApproval: Bool
    /// Script the delegate runs with `/bin/sh -c` once active; empty: none.
    public var startupScript: String
    /// Rules that admit a matching delegate without a human.
    public var autoApproval: [ApprovalRule]
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64
    /// Last update, Unix milliseconds.
    public var updatedAt: Int64

    /// Creates a profile record.
    public init(
        id: String, accountID: String, name: String, requiresApproval: Bool = false, startupScript: String = "",
        autoApproval: [ApprovalRule] = [], createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.requiresApproval = requiresApproval
        self.startupScript = startupScript
        self.autoApproval = autoApproval
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
