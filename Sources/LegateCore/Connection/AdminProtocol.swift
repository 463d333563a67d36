import LegateWire

/// Numbers of the admin API calls (Proto/legate.proto, Proto/FRAMING.md §1.4).
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
    /// `ProfileSpec` -> `ProfileInfo` (delegate:edit).
    case profileCreate = 111
    /// `ProfileListRequest` -> `ProfileListResponse` (delegate:view).
    case profileList = 112
    /// `ProfileSpec` -> `ProfileInfo`, matched by name (delegate:edit).
    case profileUpdate = 113
    /// `ProfileRef` -> `ProfileRef`; refused while delegates use it (delegate:delete).
    case profileDelete = 114
    /// `DelegatePendingListRequest` -> `DelegateListResponse` (delegate:view).
    case delegatePendingList = 115
    /// `DelegateDecisionRequest` -> `DelegateDecisionResponse` (delegate:approve).
    case delegateApprove = 116
    /// `DelegateDecisionRequest` -> `DelegateDecisionResponse` (delegate:approve).
    case delegateReject = 117
    /// `DelegateRef` -> `DelegateRef`; SELF_DESTRUCT first when connected (delegate:delete).
    case delegateDelete = 118
    /// `TaskSubmitRequest` -> `TaskSubmitResponse` (task:submit).
    case taskSubmit = 130
    /// `TaskRef` -> `TaskInfo` (task:view).
    case taskGet = 131
    /// `TaskListRequest` -> `TaskListResponse` (task:view).
    case taskList = 132
    /// `TaskCancelRequest` -> `TaskInfo` (task:submit).
    case taskCancel = 133
    /// `TaskRef` -> `TaskLogsResponse` (task:view).
    case taskLogs = 134
    /// `TaskWaitRequest` -> `TaskListResponse`, once every task is final or the timeout passed (task:view).
    case taskWait = 135

    /// True for the task calls, which are answered asynchronously by the task service.
    public var isTaskCall: Bool { self.rawValue >= 130 }
}

/// Push kinds beyond LegateWire's `PushKind`.
public enum AdminPushKind {
    /// `TokenRotated`: switch to the new token value and re-mint.
    public static let tokenRotated: UInt16 = 3
}

/// Admin API key permissions.
public enum AdminPermission: String, Sendable, CaseIterable, Codable {
    /// List and show tokens and delegates.
    case delegateView = "delegate:view"
    /// Create and copy tokens.
    case delegateEdit = "delegate:edit"
    /// Revoke and delete tokens.
    case delegateDelete = "delegate:delete"
    /// Approve or reject pending delegates.
    case delegateApprove = "delegate:approve"
    /// Submit and cancel tasks.
    case taskSubmit = "task:submit"
    /// Read tasks, their results and logs.
    case taskView = "task:view"
    /// Everything, including the audit log.
    case accountAdmin = "account:admin"
}
