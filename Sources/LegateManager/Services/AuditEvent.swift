import LegateCore
import LegateWire

/// One audited action, typed: the audit service turns it into an `AuditRecord` (action, target, outcome,
/// detail), so the wording of every row lives here and nowhere else.
enum AuditEvent: Sendable {
    /// The first start created the default account and its default token.
    case accountCreated(accountID: String, redactedToken: String)
    /// The first start created the bootstrap admin key.
    case bootstrapAdminKeyCreated(keyID: String)
    /// An account without a default profile got one.
    case defaultProfileCreated(ProfileRecord)
    /// A token was created (`redacted` is its redacted value, never the value).
    case tokenCreated(tokenID: String, name: String, scope: String, redacted: String, expiresAt: Int64?)
    /// A token's value was shown again.
    case tokenCopied(tokenID: String, name: String, scope: String)
    /// A revoke or dry run named a token that does not exist.
    case tokenRevokeNotFound(tokenID: String, dryRun: Bool)
    /// A dry run counted the delegates a revoke would reach.
    case tokenRevokeDryRun(tokenID: String, scope: String, connected: Int)
    /// A token was marked revoked (written before the fan-out).
    case tokenRevoked(tokenID: String, name: String, scope: String)
    /// The SELF_DESTRUCT fan-out of a revoke ended.
    case tokenRevokeFanOut(tokenID: String, scope: String, report: FanOutReport)
    /// A token delete was refused because the token is active.
    case tokenDeleteRefused(tokenID: String, scope: String)
    /// A revoked token was deleted.
    case tokenDeleted(tokenID: String, name: String, scope: String)
    /// A token was rotated to `successor`; the old one is revoked at `oldRevokedAt` (Unix ms).
    case tokenRotated(tokenID: String, scope: String, successor: String, oldRevokedAt: Int64)
    /// The TOKEN_ROTATED push of a rotation ended.
    case tokenRotatePushed(tokenID: String, scope: String, report: FanOutReport)
    /// A pending delegate was approved or rejected.
    case delegateDecided(DelegateRecord, approved: Bool, reason: String)
    /// A delegate was deleted; `push` says how its SELF_DESTRUCT went.
    case delegateDeleted(DelegateRecord, push: String)
    /// A profile was created or replaced.
    case profileSaved(ProfileRecord, isUpdate: Bool)
    /// A profile was deleted.
    case profileDeleted(ProfileRecord)
    /// An admin API key was created.
    case adminKeyCreated(keyID: String, name: String, scope: String, permissions: [String])
    /// An admin API key was revoked.
    case adminKeyRevoked(keyID: String, name: String)
    /// An admin API key was refused (`keyID` nil when the value was not even shaped like a key).
    case adminAuthRefused(keyID: String?, reason: String)
    /// An admin API key was accepted.
    case adminAuthenticated(keyID: String, peer: String, scope: Scope)
    /// An admin call lacked a permission.
    case apiDenied(call: AdminMethod, keyScope: Scope, missing: AdminPermission)
    /// An admin call ended (ok, or refused with its status code).
    case apiCall(call: AdminMethod, keyScope: Scope, result: Result<Void, AdminError>, target: String, detail: String)

    /// The row for this event in `accountID` by `actor` at `at` (Unix ms).
    func record(accountID: String, actor: String, at: Int64) -> AuditRecord {
        let parts = self.parts
        return AuditRecord(
            at: at, accountID: accountID, actor: actor, action: parts.action, target: parts.target,
            outcome: parts.outcome, detail: parts.detail)
    }

    /// The row's action, target, outcome and detail.
    var parts: (action: String, target: String, outcome: String, detail: String) {
        switch self {
        case .accountCreated(let accountID, let redacted):
            return ("account.create", accountID, "ok", "default account and default token \(redacted)")
        case .bootstrapAdminKeyCreated(let keyID):
            return ("admin-key.create", keyID, "ok", "bootstrap admin key with every permission")
        case .defaultProfileCreated(let profile):
            return ("profile.create", profile.id, "ok", "name=\(profile.name) requiresApproval=false")
        case .tokenCreated(let id, let name, let scope, let redacted, let expiresAt):
            return (
                "token.create", id, "ok",
                "name=\(name) scope=\(scope) \(redacted)" + (expiresAt.map { " expiresAt=\($0)" } ?? "")
            )
        case .tokenCopied(let id, let name, let scope):
            return ("token.copy", id, "ok", "name=\(name) scope=\(scope)")
        case .tokenRevokeNotFound(let id, let dryRun):
            return (dryRun ? "token.revoke.dry-run" : "token.revoke", id, "not found", "")
        case .tokenRevokeDryRun(let id, let scope, let connected):
            return ("token.revoke.dry-run", id, "ok", "scope=\(scope) connected=\(connected)")
        case .tokenRevoked(let id, let name, let scope):
            return ("token.revoke", id, "ok", "name=\(name) scope=\(scope); status revoked, fan-out follows")
        case .tokenRevokeFanOut(let id, let scope, let report):
            return (
                "token.revoke.fan-out", id, report.notReached == 0 ? "ok" : "partial",
                "scope=\(scope) connected=\(report.connected) told=\(report.told) "
                    + "acknowledged=\(report.acknowledged) notReached=\(report.notReached) "
                    + "ms=\(report.duration.wireMilliseconds)"
            )
        case .tokenDeleteRefused(let id, let scope):
            return ("token.delete", id, "denied", "scope=\(scope) token is active")
        case .tokenDeleted(let id, let name, let scope):
            return ("token.delete", id, "ok", "name=\(name) scope=\(scope)")
        case .tokenRotated(let id, let scope, let successor, let oldRevokedAt):
            return ("token.rotate", id, "ok", "scope=\(scope) successor=\(successor) oldRevokedAt=\(oldRevokedAt)")
        case .tokenRotatePushed(let id, let scope, let report):
            return (
                "token.rotate.push", id, report.acknowledged == report.connected ? "ok" : "partial",
                "scope=\(scope) connected=\(report.connected) told=\(report.told) switched=\(report.acknowledged)"
            )
        case .delegateDecided(let record, let approved, let reason):
            return (
                approved ? "delegate.approve" : "delegate.reject", record.id, "ok",
                "profile=\(record.profile) host=\(record.hostname) token=\(record.tokenID) "
                    + "reason=\(reason.isEmpty ? "-" : reason)"
            )
        case .delegateDeleted(let record, let push):
            return (
                "delegate.delete", record.id, "ok",
                "status=\(record.status.rawValue) host=\(record.hostname) \(push)"
            )
        case .profileSaved(let profile, let isUpdate):
            return (
                isUpdate ? "profile.update" : "profile.create", profile.id, "ok",
                "name=\(profile.name) requiresApproval=\(profile.requiresApproval) "
                    + "script=\(profile.startupScript.utf8.count)B rules=\(profile.autoApproval.count)"
            )
        case .profileDeleted(let profile):
            return ("profile.delete", profile.id, "ok", "name=\(profile.name)")
        case .adminKeyCreated(let id, let name, let scope, let permissions):
            return (
                "admin-key.create", id, "ok",
                "name=\(name) scope=\(scope) permissions=\(permissions.joined(separator: ","))"
            )
        case .adminKeyRevoked(let id, let name):
            return ("admin-key.revoke", id, "ok", "name=\(name)")
        case .adminAuthRefused(let id, let reason):
            return ("admin.auth", id ?? "-", "denied", reason)
        case .adminAuthenticated(let id, let peer, let scope):
            return ("admin.auth", id, "ok", "peer=\(peer) scope=\(scope)")
        case .apiDenied(let call, let keyScope, let missing):
            return ("api.\(call)", "-", "denied", "keyScope=\(keyScope) missing permission \(missing.rawValue)")
        case .apiCall(let call, let keyScope, let result, let target, let extra):
            var detail = "keyScope=\(keyScope)"
            if !extra.isEmpty { detail += " " + extra }
            switch result {
            case .success:
                return ("api.\(call)", target, "ok", detail)
            case .failure(let error):
                if error.code == .permissionDenied { detail += " \(error.message)" }
                return ("api.\(call)", target, "\(error.code)", detail)
            }
        }
    }
}
