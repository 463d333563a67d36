import LegateCore
import LegateHTTP
import LegateWire

// MARK: - The actions (POST): CSRF checked, then one admin call each; the section's page shows how it went. A
// refused call answers with its status (403 for a permission the key lacks) and the reason on the page.

extension ConsoleRouter {
    /// A section page re-drawn after an action, with a flash and a status.
    typealias SectionPage = @Sendable (ConsoleContext, ConsoleFlash, HTTPStatus) throws(AdminError) -> HTTPResponse

    /// Adds the POST actions to `router`.
    func registerActions(into router: inout HTTPRouter) {
        let tokens: SectionPage = { context, flash, status throws(AdminError) in
            try self.tokensPage(context, flash: flash, status: status)
        }
        let delegates: SectionPage = { context, flash, status throws(AdminError) in
            try self.delegatesPage(context, flash: flash, status: status)
        }
        let profiles: SectionPage = { context, flash, status throws(AdminError) in
            try self.profilesPage(context, flash: flash, status: status)
        }
        let tasks: SectionPage = { context, flash, status throws(AdminError) in
            try self.tasksPage(context, flash: flash, status: status)
        }
        self.action("/console/tokens/create", into: &router, page: tokens) { context throws(AdminError) in
            try self.createToken(context)
        }
        self.action("/console/tokens/copy", into: &router, page: tokens) { context throws(AdminError) in
            var reference = TokenRef()
            reference.tokenID = context.form["id"]
            let copied: TokenCopyResponse = try self.calls.call(.tokenCopy, reference, as: context.session.admin)
            let name = try self.tokens(context).first { $0.id == reference.tokenID }?.name ?? reference.tokenID
            return try self.tokensPage(context) { page in
                page.secret = .init(heading: "Token value", tokenName: name, value: copied.value)
            }
        }
        self.action("/console/tokens/revoke", into: &router, page: tokens) { context throws(AdminError) in
            try self.revokeToken(context)
        }
        self.action("/console/tokens/rotate", into: &router, page: tokens) { context throws(AdminError) in
            var request = TokenRotateRequest()
            request.tokenID = context.form["id"]
            request.overlapSeconds = try Self.number(context.form["overlap"], "overlap") ?? 0
            let rotated: TokenRotateResponse = try self.calls.call(.tokenRotate, request, as: context.session.admin)
            return try self.tokensPage(
                context, flash: .ok("Token rotated; its successor is \(rotated.token?.name ?? "")")
            ) {
                page in
                page.rotateResult = rotated
                page.secret = .init(
                    heading: "New token value", tokenName: rotated.token?.name ?? "", value: rotated.value)
            }
        }
        self.action("/console/tokens/delete", into: &router, page: tokens) { context throws(AdminError) in
            var reference = TokenRef()
            reference.tokenID = context.form["id"]
            let _: TokenDeleteResponse = try self.calls.call(.tokenDelete, reference, as: context.session.admin)
            return try self.tokensPage(context, flash: .ok("Token \(reference.tokenID) deleted"))
        }
        self.action("/console/delegates/decide", into: &router, page: delegates) { context throws(AdminError) in
            try self.decide(context)
        }
        self.action("/console/delegates/delete", into: &router, page: delegates) { context throws(AdminError) in
            var reference = DelegateRef()
            reference.delegateID = context.form["id"]
            let _: DelegateRef = try self.calls.call(.delegateDelete, reference, as: context.session.admin)
            return try self.delegatesPage(context, flash: .ok("Delegate \(reference.delegateID) deleted"))
        }
        self.action("/console/profiles/save", into: &router, page: profiles) { context throws(AdminError) in
            var spec = ProfileSpec()
            spec.name = context.form["name"]
            spec.requiresApproval = context.form["requires_approval"] == "1"
            spec.startupScript = context.form.raw("startup_script").replacingCRLF
            spec.autoApproval = try ConsoleProfilePages.parseRules(context.form.raw("rules"))
            let isUpdate = context.form["update"] == "1"
            let _: ProfileInfo = try self.calls.call(
                isUpdate ? .profileUpdate : .profileCreate, spec, as: context.session.admin)
            return try self.profilesPage(context, flash: .ok("Profile \(spec.name) \(isUpdate ? "saved" : "created")"))
        }
        self.action("/console/profiles/delete", into: &router, page: profiles) { context throws(AdminError) in
            var reference = ProfileRef()
            reference.name = context.form["name"]
            let _: ProfileRef = try self.calls.call(.profileDelete, reference, as: context.session.admin)
            return try self.profilesPage(context, flash: .ok("Profile \(reference.name) deleted"))
        }
        self.action("/console/tasks/submit", into: &router, page: tasks) { context throws(AdminError) in
            try self.submitTask(context)
        }
        self.action("/console/tasks/cancel", into: &router, page: tasks) { context throws(AdminError) in
            var request = TaskCancelRequest()
            request.taskID = context.form["id"]
            request.reason = context.form["reason"].isEmpty ? "cancelled from the console" : context.form["reason"]
            let task: TaskInfo = try self.calls.call(.taskCancel, request, as: context.session.admin)
            return try self.taskPage(
                context, id: task.id, flash: .ok("Task \(task.id) is \(ConsoleTaskPages.name(task.state))"))
        }
    }

    /// Registers a POST action whose refusal re-draws `page` with the reason and the refusal's status.
    private func action(
        _ path: String, into router: inout HTTPRouter, page: @escaping SectionPage,
        _ body: @escaping @Sendable (ConsoleContext) throws(AdminError) -> HTTPResponse
    ) {
        router.add("POST", path) { [self] request in
            self.post(request) { context throws(AdminError) in
                do throws(AdminError) {
                    return try body(context)
                } catch {
                    return try page(context, .error(error.message), error.httpStatus)
                }
            }
        }
    }

    private func createToken(_ context: ConsoleContext) throws(AdminError) -> HTTPResponse {
        var request = TokenCreateRequest()
        request.name = context.form["name"]
        request.scope = context.form["scope"]
        request.expiresInSeconds = Int64(try Self.number(context.form["expires_in"], "expires in") ?? 0)
        let created: TokenCreateResponse = try self.calls.call(.tokenCreate, request, as: context.session.admin)
        return try self.tokensPage(context, flash: .ok("Token \(created.token?.name ?? "") created")) { page in
            page.secret = .init(heading: "New token value", tokenName: created.token?.name ?? "", value: created.value)
        }
    }

    /// Without `confirm`, a dry run: the impact, with a button to go ahead. With it, the revoke and its counts.
    private func revokeToken(_ context: ConsoleContext) throws(AdminError) -> HTTPResponse {
        var request = TokenRevokeRequest()
        request.tokenID = context.form["id"]
        request.dryRun = context.form["confirm"] != "1"
        let report: TokenRevokeResponse = try self.calls.call(.tokenRevoke, request, as: context.session.admin)
        if request.dryRun {
            var reference = TokenRef()
            reference.tokenID = request.tokenID
            let shown: TokenShowResponse = try self.calls.call(.tokenShow, reference, as: context.session.admin)
            guard let token = shown.token else { throw .notFound("token \(request.tokenID) does not exist") }
            return try self.tokensPage(context) { page in page.revokePreview = (token, report) }
        }
        return try self.tokensPage(context, flash: .ok("Token \(report.tokenID) revoked")) { page in
            page.revokeResult = report
        }
    }

    /// Approve or reject one delegate (`id`), or every pending one of a `profile` or a `token`.
    private func decide(_ context: ConsoleContext) throws(AdminError) -> HTTPResponse {
        let decision = context.form["decision"]
        guard decision == "approve" || decision == "reject" else {
            throw .invalidArgument("decision must be approve or reject")
        }
        var request = DelegateDecisionRequest()
        if !context.form["id"].isEmpty { request.delegateIds = [context.form["id"]] }
        request.profile = context.form["profile"]
        request.tokenID = context.form["token"]
        request.reason = context.form["reason"]
        let method: AdminMethod = decision == "approve" ? .delegateApprove : .delegateReject
        let report: DelegateDecisionResponse = try self.calls.call(method, request, as: context.session.admin)
        var text =
            "\(decision == "approve" ? "Approved" : "Rejected") \(report.decided.count) delegate(s), "
            + "told \(report.told)"
        if !report.skipped.isEmpty { text += "; skipped: " + report.skipped.joined(separator: "; ") }
        return try self.delegatesPage(context, flash: .ok(text))
    }

    private func submitTask(_ context: ConsoleContext) throws(AdminError) -> HTTPResponse {
        var spec = TaskSpec()
        spec.type = context.form["type"]
        guard spec.type == "echo" || spec.type == "shell" else {
            throw .invalidArgument("the console submits echo and shell tasks; pick one")
        }
        spec.payload = Array(context.form.raw("payload").replacingCRLF.utf8)
        spec.selectors = context.form["selectors"].split(separator: ",").map { $0.trimmingSpaces }.filter {
            !$0.isEmpty
        }
        spec.targetDelegateID = context.form["target"]
        spec.timeoutMs = (try Self.number(context.form["timeout"], "timeout") ?? 0) &* 1000
        var request = TaskSubmitRequest()
        request.tasks = [spec]
        let submitted: TaskSubmitResponse = try self.calls.call(.taskSubmit, request, as: context.session.admin)
        guard let task = submitted.tasks.first else { throw .unavailable("the manager accepted no task; retry") }
        let warnings = submitted.warnings.isEmpty ? "" : " (" + submitted.warnings.joined(separator: "; ") + ")"
        return try self.taskPage(context, id: task.id, flash: .ok("Task \(task.id) submitted\(warnings)"))
    }

    /// A non-negative whole number typed in a form; nil when left empty.
    static func number(_ text: String, _ field: String) throws(AdminError) -> UInt32? {
        guard !text.isEmpty else { return nil }
        guard let value = UInt32(text) else {
            throw .invalidArgument("\(field) must be a whole number of seconds, not \(text.prefix(40))")
        }
        return value
    }
}

extension String {
    /// Browsers send text-area line breaks as CRLF; scripts and payloads want LF.
    var replacingCRLF: String {
        self.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
    }
}
