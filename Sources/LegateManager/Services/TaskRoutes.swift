import Dispatch
import LegateCore
import LegateNet
import LegateWire
import Synchronization

/// Task types each account's delegates have announced, as far as seen (only ever grows; a cache for the
/// submit-time warning).
private let announcedTaskTypes = Mutex<[String: Set<String>]>([:])

// MARK: - Task admin calls (130...135): validated here, answered asynchronously by the task service.

extension TaskService {
    /// Registers the task calls; they never block: the task service answers once the work is stored (or done,
    /// for TaskWait). Submit and cancel are audited when they succeed, every call when it fails. `maxFrameBytes`
    /// is the frame limit delegates accept: a task's assignment must fit in it.
    func registerRoutes(into router: AdminRouter, maxFrameBytes: Int) {
        let larger = "announce a larger Hello.max_frame_bytes (up to \(FrameLimits.maxFrameBytesCeiling))"
        let calls: [(AdminMethod, [AdminPermission], Bool, String)] = [
            (.taskSubmit, [.taskSubmit], true, "submit fewer tasks per call"),
            (.taskGet, [.taskView], false, "the task's payload and output do not fit together: \(larger), or read "
                + "its summary with TaskList"),
            (.taskList, [.taskView], false, "ask for fewer tasks per page (TaskListRequest.limit) and follow "
                + "next_page_token"),
            (.taskCancel, [.taskSubmit], true, larger),
            (.taskLogs, [.taskView], false, larger),
            (.taskWait, [.taskView], false, "wait for fewer tasks per call (TaskWaitRequest.task_ids), then read "
                + "whole outputs with TaskGet"),
        ]
        for (call, permissions, auditsSuccess, advice) in calls {
            router.registerAnswered(
                call, permissions: permissions, auditsSuccess: auditsSuccess, tooLargeAdvice: advice
            ) {
                payload, session, reply throws(AdminError) in
                try self.startCall(call, payload: payload, session: session, maxFrameBytes: maxFrameBytes) {
                    result, target, detail in
                    reply(AdminOutcome(result: result, target: target, detail: detail))
                }
            }
        }
    }

    private func startCall(
        _ call: AdminMethod, payload: [UInt8], session: AdminSession, maxFrameBytes: Int,
        reply: @escaping @Sendable (Result<[UInt8], AdminError>, String, String) -> Void
    ) throws(AdminError) {
        let tasks = self
        let limits = tasks.configuration
        let viewer = TaskViewer(accountID: session.accountID, scope: session.scope)
        switch call {
        case .taskSubmit:
            let request = try AdminRouter.decode(TaskSubmitRequest.self, payload)
            try Self.checkCount(request.tasks.count, "a TaskSubmit carries", limit: limits.maxTasksPerCall)
            let now = self.clock.unixMilliseconds()
            let ids = ManagerServices.newTimeOrderedIDs(prefix: "tsk", now: now, count: request.tasks.count)
            var built: [TaskRecord] = []
            built.reserveCapacity(request.tasks.count)
            for (index, spec) in request.tasks.enumerated() {
                let record = try TaskSpecRules.record(
                    from: spec, index: index, session: session, limits: limits, maxFrameBytes: maxFrameBytes,
                    now: now, id: ids[index])
                built.append(
                    try tasks.withSecrets(record, spec: spec, session: session, maxFrameBytes: maxFrameBytes))
            }
            let records = built
            let types = Set(records.map(\.type))
            tasks.submit(records) { result in
                let detail = "count=\(records.count) type=\(records.first?.type ?? "-")"
                // Fresh tasks were just queued: no waiting reason yet (TaskGet/TaskList compute it).
                let summaries = result.map { $0.map(TaskSummary.init(listing:)) }
                guard case .success = summaries else {
                    return reply(
                        Self.encode(summaries, tasks: nil, as: TaskSubmitResponse.self), records.first?.id ?? "-",
                        detail)
                }
                tasks.unannouncedTypes(types, accountID: session.accountID) { unknown in
                    let answer = summaries.map { list in
                        var response = TaskSubmitResponse()
                        response.tasks = list.map { Self.info(summary: $0, reason: "") }
                        response.warnings = unknown.sorted().map {
                            "no delegate of this account has ever announced task type '\($0)'; the task stays "
                                + "queued until one that supports it connects (check the type's spelling, or "
                                + "legate-delegate --task-types)"
                        }
                        return response.protoBytes()
                    }
                    reply(answer, records.first?.id ?? "-", detail)
                }
            }
        case .taskGet:
            let request = try AdminRouter.decode(TaskRef.self, payload)
            tasks.task(id: request.taskID, viewer: viewer) { result in
                reply(
                    result.map {
                        Self.info($0.first, reason: $0.first.map(tasks.waitingReason) ?? "", payload: true)
                            .protoBytes()
                    }, request.taskID, "")
            }
        case .taskList:
            let request = try AdminRouter.decode(TaskListRequest.self, payload)
            let status = try TaskSpecRules.status(request.state)
            let limit = request.limit == 0 ? 100 : Int(min(request.limit, UInt32(Self.maxPageTasks)))
            var cursor: TaskListCursor?
            if !request.pageToken.isEmpty {
                guard let position = TaskListCursor(token: request.pageToken) else {
                    throw .invalidArgument(
                        "page_token is not one this manager gave out; list again without it to start from the newest")
                }
                cursor = position
            }
            tasks.list(viewer: viewer, status: status, limit: limit, after: cursor) { result in
                reply(result.map { Self.encode(page: $0, tasks: tasks) }, "-", "")
            }
        case .taskCancel:
            let request = try AdminRouter.decode(TaskCancelRequest.self, payload)
            tasks.cancel(id: request.taskID, viewer: viewer, reason: request.reason) { result in
                reply(
                    result.map { Self.info($0.first, reason: "", payload: false).protoBytes() }, request.taskID,
                    "reason=\(request.reason)")
            }
        case .taskLogs:
            let request = try AdminRouter.decode(TaskRef.self, payload)
            tasks.logs(id: request.taskID, viewer: viewer) { result in
                reply(
                    result.map { chunks, truncated in
                        var response = TaskLogsResponse()
                        response.truncated = truncated
                        response.chunks = chunks.map {
                            var chunk = TaskLogChunk()
                            chunk.attempt = $0.attempt
                            chunk.atMs = $0.at
                            chunk.data = $0.data
                            return chunk
                        }
                        return response.protoBytes()
                    }, request.taskID, "")
            }
        case .taskWait:
            let request = try AdminRouter.decode(TaskWaitRequest.self, payload)
            try Self.checkCount(request.taskIds.count, "a TaskWait names", limit: limits.maxTasksPerCall)
            let timeout: Duration =
                request.timeoutMs == 0 ? .seconds(30) : .milliseconds(min(request.timeoutMs, 300_000))
            tasks.wait(ids: request.taskIds, viewer: viewer, timeout: timeout) { result in
                reply(Self.encode(result, tasks: tasks, as: TaskListResponse.self), "-", "")
            }
        default:
            throw AdminError(code: .unimplemented, message: "\(call) is not a task call")
        }
    }

    /// Refuses a call that names no tasks or more than `limit`.
    private static func checkCount(_ count: Int, _ what: String, limit: Int) throws(AdminError) {
        guard (1...limit).contains(count) else {
            throw .invalidArgument("\(what) 1...\(limit) tasks, not \(count)")
        }
    }

    /// Most tasks one TaskList page names.
    static let maxPageTasks = 1000
    /// A TaskList page ends early once its tasks take this many bytes (the next page token says where to go on), so
    /// a page fits in any frame limit a client can reasonably announce.
    static let maxPageBytes = 512 << 10

    /// Encodes task summaries (runs on the task queue, where waiting reasons can be computed).
    private static func encode<Response: TaskListMessage>(
        _ result: Result<[TaskSummary], AdminError>, tasks: TaskService?, as: Response.Type
    ) -> Result<[UInt8], AdminError> {
        result.map { summaries in
            var response = Response()
            response.tasks = summaries.map {
                Self.info(summary: $0, reason: tasks?.waitingReason(for: $0.task) ?? "")
            }
            return response.protoBytes()
        }
    }

    /// Calls `done` with those of `types` that no delegate of `accountID` has ever announced. Types seen once are
    /// remembered, so the common case answers at once; otherwise the delegates are read from the store on a
    /// global queue (never on an event loop or the task queue).
    func unannouncedTypes(
        _ types: Set<String>, accountID: String, done: @escaping @Sendable (Set<String>) -> Void
    ) {
        let missing = announcedTaskTypes.withLock { known in types.subtracting(known[accountID] ?? []) }
        guard !missing.isEmpty else { return done([]) }
        let store = self.store
        DispatchQueue.global().async {
            // A store that cannot be read gives no warning rather than a false one.
            let delegates = (try? store.delegates(accountID: accountID)) ?? []
            let announced = Set(delegates.flatMap(\.taskTypes))
            announcedTaskTypes.withLock { $0[accountID, default: []].formUnion(announced) }
            done(missing.subtracting(announced))
        }
    }

    /// Encodes one TaskList page, ending it early (with a token for the rest) once it holds `maxPageBytes`.
    static func encode(page: TaskPage, tasks: TaskService) -> [UInt8] {
        var response = TaskListResponse()
        var bytes = 0
        for (index, summary) in page.tasks.enumerated() {
            let info = Self.info(summary: summary, reason: tasks.waitingReason(for: summary.task))
            let size = info.encodedSize + 6  // field tag and length prefix
            if bytes + size > Self.maxPageBytes, index > 0 {
                response.nextPageToken = TaskListCursor(after: page.tasks[index - 1].task).token
                return response.protoBytes()
            }
            bytes += size
            response.tasks.append(info)
        }
        response.nextPageToken = page.next?.token ?? ""
        return response.protoBytes()
    }

    /// The listed view of a task: no payload, the first bytes of its output with the whole output's size.
    static func info(summary: TaskSummary, reason: String) -> TaskInfo {
        var info = Self.info(summary.task, reason: reason, payload: false)
        info.outputBytes = UInt64(summary.outputBytes)
        info.outputTruncated = summary.outputTruncated
        return info
    }

    /// The admin view of a whole task (TaskGet with its payload, TaskCancel without).
    static func info(_ record: TaskRecord?, reason: String, payload: Bool) -> TaskInfo {
        var info = TaskInfo()
        guard let record else { return info }
        info.id = record.id
        info.type = record.type
        info.state = record.status.wire
        info.attempt = record.attempt
        info.delegateID = record.delegateID ?? ""
        info.waitingReason = reason.isEmpty && record.status == .queued ? record.message : reason
        info.createdAtMs = record.createdAt
        info.updatedAtMs = record.updatedAt
        info.finishedAtMs = record.finishedAt ?? 0
        info.output = record.output
        info.outputBytes = UInt64(record.output.count)
        info.error = record.error.isEmpty && record.status == .cancelled ? record.message : record.error
        info.exitCode = record.exitCode
        info.progressPercent = record.progressPercent
        info.selectors = record.selectors
        info.targetDelegateID = record.targetDelegateID ?? ""
        info.idempotencyKey = record.idempotencyKey ?? ""
        info.maxAttempts = record.maxAttempts
        info.timeoutMs = UInt32(clamping: record.timeoutMs)
        info.secrets = record.secrets.map { use in
            var wire = SecretUse()
            wire.envName = use.envName
            wire.secretName = use.secretName
            return wire
        }
        if payload { info.payload = record.payload }
        return info
    }
}

/// Responses that are a list of tasks.
protocol TaskListMessage: ProtoMessage {
    var tasks: [TaskInfo] { get set }
    init()
}

extension TaskSubmitResponse: TaskListMessage {}
extension TaskListResponse: TaskListMessage {}
