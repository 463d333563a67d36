import LegateCore
import LegateHTTP
import LegateWire

// MARK: - The pages (GET): read through the admin router, render, answer.

extension ConsoleRouter {
    /// Most tasks and audit rows one page reads.
    static let pageLimit: UInt32 = 200

    /// Adds the GET pages to `router`.
    func registerPages(into router: inout HTTPRouter) {
        router.get("/console/tokens") { [self] request in
            self.get(request) { context throws(AdminError) in try self.tokensPage(context) }
        }
        router.get("/console/delegates") { [self] request in
            self.get(request) { context throws(AdminError) in try self.delegatesPage(context) }
        }
        router.get("/console/profiles") { [self] request in
            self.get(request) { context throws(AdminError) in try self.profilesPage(context) }
        }
        router.get("/console/tasks") { [self] request in
            self.get(request) { context throws(AdminError) in try self.tasksPage(context) }
        }
        router.get("/console/task") { [self] request in
            self.get(request) { context throws(AdminError) in try self.taskPage(context, id: context.form["id"]) }
        }
        router.get("/console/task/live") { [self] request in
            self.get(request) { context throws(AdminError) in
                let (task, logs) = try self.task(context.form["id"], context)
                var response = HTTPResponse.text(
                    .ok, ConsoleTaskPages.liveJSON(task, logs: logs), contentType: "application/json")
                response.headers += ConsoleLayout.securityHeaders
                return response
            }
        }
        router.get("/console/audit") { [self] request in
            self.get(request) { context throws(AdminError) in try self.auditPage(context) }
        }
    }

    /// The Tokens page, with `panels` from an action and `flash`.
    func tokensPage(
        _ context: ConsoleContext, flash: ConsoleFlash? = nil, status: HTTPStatus = .ok,
        panels: (inout ConsoleTokensPage) -> Void = { _ in }
    ) throws(AdminError) -> HTTPResponse {
        var page = ConsoleTokensPage(tokens: try self.tokens(context))
        panels(&page)
        return ConsoleLayout.response(
            status, html: ConsoleTokenPages.render(page, viewer: context.viewer, now: context.now, flash: flash))
    }

    /// The tokens the session's key may see.
    func tokens(_ context: ConsoleContext) throws(AdminError) -> [TokenInfo] {
        let response: TokenListResponse = try self.calls.call(.tokenList, TokenListRequest(), as: context.session.admin)
        return response.tokens
    }

    /// The Delegates page, filtered by the query's `state` and `token`.
    func delegatesPage(_ context: ConsoleContext, flash: ConsoleFlash? = nil, status: HTTPStatus = .ok)
        throws(AdminError) -> HTTPResponse
    {
        let admin = context.session.admin
        let state = context.request.method == "GET" ? context.form["state"] : ""
        let tokenID = context.request.method == "GET" ? context.form["token"] : ""
        var request = DelegateListRequest()
        request.tokenID = tokenID
        let listed: DelegateListResponse = try self.calls.call(.delegateList, request, as: admin)
        let profiles: ProfileListResponse = try self.calls.call(.profileList, ProfileListRequest(), as: admin)
        let page = ConsoleDelegatesPage(
            delegates: listed.delegates.filter { state.isEmpty || $0.status == state }, state: state,
            tokenID: tokenID, profiles: profiles.profiles.map(\.name),
            tokens: try self.tokens(context).map { (id: $0.id, name: $0.name) })
        return ConsoleLayout.response(
            status, html: ConsoleDelegatePages.render(page, viewer: context.viewer, now: context.now, flash: flash))
    }

    /// The Profiles page; `?edit=NAME` fills the form with that profile.
    func profilesPage(_ context: ConsoleContext, flash: ConsoleFlash? = nil, status: HTTPStatus = .ok)
        throws(AdminError) -> HTTPResponse
    {
        let listed: ProfileListResponse = try self.calls.call(
            .profileList, ProfileListRequest(), as: context.session.admin)
        let editName = context.request.method == "GET" ? context.form["edit"] : ""
        let editing = editName.isEmpty ? nil : listed.profiles.first { $0.name == editName }
        if !editName.isEmpty, editing == nil {
            throw .notFound("profile \(editName) does not exist")
        }
        return ConsoleLayout.response(
            status,
            html: ConsoleProfilePages.render(
                listed.profiles, editing: editing, viewer: context.viewer, now: context.now, flash: flash))
    }

    /// The Tasks page, filtered by the query's `state`, `type` and `delegate`.
    func tasksPage(_ context: ConsoleContext, flash: ConsoleFlash? = nil, status: HTTPStatus = .ok)
        throws(AdminError) -> HTTPResponse
    {
        let isGet = context.request.method == "GET"
        let stateName = isGet ? context.form["state"] : ""
        let type = isGet ? context.form["type"] : ""
        let delegateID = isGet ? context.form["delegate"] : ""
        var request = TaskListRequest()
        if !stateName.isEmpty {
            guard let state = ConsoleTaskPages.state(named: stateName) else {
                throw .invalidArgument("unknown task state \(stateName)")
            }
            request.state = state
        }
        request.limit = Self.pageLimit
        let listed: TaskListResponse = try self.calls.call(.taskList, request, as: context.session.admin)
        let tasks = listed.tasks
            .filter { type.isEmpty || $0.type == type }
            .filter { delegateID.isEmpty || $0.delegateID == delegateID || $0.targetDelegateID == delegateID }
            .sorted { $0.createdAtMs > $1.createdAtMs }
        let page = ConsoleTasksPage(
            tasks: tasks, state: stateName, type: type, delegateID: delegateID, more: !listed.nextPageToken.isEmpty)
        return ConsoleLayout.response(
            status, html: ConsoleTaskPages.render(page, viewer: context.viewer, now: context.now, flash: flash))
    }

    /// One task's page.
    func taskPage(_ context: ConsoleContext, id: String, flash: ConsoleFlash? = nil, status: HTTPStatus = .ok)
        throws(AdminError) -> HTTPResponse
    {
        let (task, logs) = try self.task(id, context)
        return ConsoleLayout.response(
            status,
            html: ConsoleTaskPages.renderTask(task, logs: logs, viewer: context.viewer, now: context.now, flash: flash))
    }

    /// A task with its logs.
    func task(_ id: String, _ context: ConsoleContext) throws(AdminError) -> (TaskInfo, TaskLogsResponse) {
        guard !id.isEmpty else { throw .invalidArgument("name a task: /console/task?id=TASK") }
        var reference = TaskRef()
        reference.taskID = id
        let task: TaskInfo = try self.calls.call(.taskGet, reference, as: context.session.admin)
        let logs: TaskLogsResponse = try self.calls.call(.taskLogs, reference, as: context.session.admin)
        return (task, logs)
    }

    /// The Audit page, filtered by actor, action and time.
    func auditPage(_ context: ConsoleContext) throws(AdminError) -> HTTPResponse {
        let filter = ConsoleAuditFilter(
            actor: context.form["actor"], action: context.form["action"], since: context.form["since"],
            until: context.form["until"])
        var request = AuditListRequest()
        request.limit = Self.pageLimit
        request.actor = filter.actor
        request.action = filter.action
        request.sinceMs = try ConsoleAuditPages.parseTime(filter.since) ?? 0
        request.untilMs = try ConsoleAuditPages.parseTime(filter.until) ?? 0
        let listed: AuditListResponse = try self.calls.call(.auditList, request, as: context.session.admin)
        return ConsoleLayout.response(
            html: ConsoleAuditPages.render(
                listed.entries, filter: filter, viewer: context.viewer, now: context.now, flash: nil))
    }
}
