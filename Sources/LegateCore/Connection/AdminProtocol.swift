import LegateWire

/// Numbers of the admin API and of the pushes added by issue 4 (Proto/legate.proto, Proto/FRAMING.md §1.3).
public enum AdminMethod: UInt16, Sendable, CaseIterable {
    /// `AdminAuthenticate` -> `AdminAuthenticated`; moves the connection to the admin state.
    case authenticate = 100
    /// `TokenCreateRequest` -> `TokenCreateResponse` (delegate:edit).
    case tokenCreate = 101
    /// `TokenListRequest` -> `TokenListResponse` (delegate:view).
    case tokenList = 102
    /// `TokenRef` -> `TokenShowResponse` (delegate:view).
    case tokenShow = 103
    /// `TokenRef` -> `TokenCopyResponse` (delegate:edit).
    case tokenCopy = 104
    /// `TokenRevokeRequest` -> `TokenRevokeResponse` (delegate:delete).
    case tokenRevoke = 105
    /// `TokenRef` -> `TokenDeleteResponse` (delegate:delete).
    case tokenDelete = 106
    /// `TokenRotateRequest` -> `TokenRotateResponse` (delegate:edit and delegate:delete).
    case tokenRotate = 107
    /// `DelegateListRequest` -> `DelegateListResponse` (delegate:view).
    case delegateList = 108
    /// `DelegateRef` -> `DelegateInfo` (delegate:view).
    case delegateShow = 109
    /// `AuditListRequest` -> `AuditListResponse` (account:admin).
    case auditList = 110
}

/// Push kinds beyond LegateWire's `PushKind` (issue 4).
public enum AdminPushKind {
    /// `TokenRotated`: switch to the new token value and re-mint.
    public static let tokenRotated: UInt16 = 3
}

/// Admin API key permissions (DESIGN.md §4).
public enum AdminPermission: String, Sendable, CaseIterable, Codable {
    /// List and show tokens and delegates.
    case delegateView = "delegate:view"
    /// Create and copy tokens.
    case delegateEdit = "delegate:edit"
    /// Revoke and delete tokens.
    case delegateDelete = "delegate:delete"
    /// Approve or reject pending delegates.
    case delegateApprove = "delegate:approve"
    /// Everything, including the audit log.
    case accountAdmin = "account:admin"
}
