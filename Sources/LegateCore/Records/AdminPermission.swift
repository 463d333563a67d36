/// Admin API key permissions; `account:admin` holds every one (Proto/FRAMING.md §1.4).
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
    /// Create key rings, create, rotate and delete secrets.
    case secretEdit = "secret:edit"
    /// List and show key rings and secrets (metadata only; nothing opens a secret).
    case secretView = "secret:view"
    /// Submit tasks that use secrets.
    case secretUse = "secret:use"
    /// Everything, including the audit log.
    case accountAdmin = "account:admin"
}
