import Dispatch
import LegateCore
import LegateWire
import Synchronization

/// How an admin call ended, with what its audit row names (the target and extra detail).
struct AdminOutcome: Sendable {
    /// The RESPONSE payload, or the refusal.
    var result: Result<[UInt8], AdminError>
    /// The audit target (`-` when the call names none).
    var target = "-"
    /// Extra audit detail after the key scope.
    var detail = ""
}

/// Routes admin calls by method: each domain registers its methods (permissions, decode, call, encode); the
/// router checks permissions, runs the call where it belongs, audits how it ended and answers.
final class AdminRouter: Sendable {
    /// Answers an admin call that does not block: calls `reply` once, on any thread.
    typealias Answered =
        @Sendable (
            _ payload: [UInt8], _ session: AdminSession, _ reply: @escaping @Sendable (AdminOutcome) -> Void
        ) throws(AdminError) -> Void
    /// Serves an admin call that blocks (store reads, durable writes, fan-out waits): run on the admin queue.
    typealias Blocking = @Sendable (_ payload: [UInt8], _ session: AdminSession) throws(AdminError) -> [UInt8]

    private enum Handler: Sendable {
        case blocking(Blocking)
        case answered(Answered)
    }

    private struct Route: Sendable {
        let permissions: [AdminPermission]
        let auditsSuccess: Bool
        let handler: Handler
        /// How to ask for less when an answer does not fit in a frame.
        var tooLargeAdvice = Self.defaultTooLargeAdvice

        static let defaultTooLargeAdvice = "ask for less in one call"
    }

    private let routes = Mutex<[UInt16: Route]>([:])
    private let queue: DispatchQueue
    private let audit: AuditService

    /// Creates a router running blocking calls on `queue` and auditing through `audit`.
    init(queue: DispatchQueue, audit: AuditService) {
        self.queue = queue
        self.audit = audit
    }

    /// Registers a blocking call; it runs on the admin queue, never on an event loop.
    func register(_ method: AdminMethod, permissions: [AdminPermission], _ body: @escaping Blocking) {
        self.routes.withLock {
            $0[method.rawValue] = Route(permissions: permissions, auditsSuccess: true, handler: .blocking(body))
        }
    }

    /// Registers a call answered asynchronously (it must not block the calling thread); successes are audited
    /// only when `auditsSuccess` (reads that run at high rates are not). `tooLargeAdvice` tells a caller whose
    /// answer would not fit in a frame how to ask for less.
    func registerAnswered(
        _ method: AdminMethod, permissions: [AdminPermission], auditsSuccess: Bool,
        tooLargeAdvice: String = Route.defaultTooLargeAdvice, _ body: @escaping Answered
    ) {
        self.routes.withLock {
            $0[method.rawValue] = Route(
                permissions: permissions, auditsSuccess: auditsSuccess, handler: .answered(body),
                tooLargeAdvice: tooLargeAdvice)
        }
    }

    /// Serves one admin call for `session`; never blocks the caller. `reply` gets the RESPONSE payload or the
    /// refusal, on the admin queue or the domain's own queue. An answer larger than `maxResponseBytes` (the frame
    /// limit the peer announced; never above the 16 MiB ceiling) becomes RESOURCE_EXHAUSTED saying how to ask for
    /// less, so the peer gets a status on the call instead of a frame it must refuse.
    func serve(
        method: UInt16, payload: [UInt8], session: AdminSession,
        maxResponseBytes: Int = FrameLimits.maxFrameBytesCeiling,
        reply: @escaping @Sendable (Result<[UInt8], AdminError>) -> Void
    ) {
        guard let call = AdminMethod(rawValue: method), let route = self.routes.withLock({ $0[method] }) else {
            return reply(.failure(AdminError(code: .unimplemented, message: "admin method \(method) does not exist")))
        }
        if let missing = route.permissions.first(where: { !session.allows($0) }) {
            self.audit.record(.apiDenied(call: call, keyScope: session.scope, missing: missing), session: session)
            return reply(
                .failure(
                    .permissionDenied(
                        "admin key \(session.keyID) lacks permission \(missing.rawValue); ask an account admin for it"))
            )
        }
        let finish: @Sendable (AdminOutcome) -> Void = { answer in
            var outcome = answer
            if case .success(let response) = outcome.result,
                !FrameEncoder.fits(payloadBytes: response.count, limit: maxResponseBytes)
            {
                let limit = min(maxResponseBytes, FrameLimits.maxFrameBytesCeiling)
                outcome.result = .failure(
                    AdminError(
                        code: .resourceExhausted,
                        message: "the \(call) answer is \(response.count) bytes, more than the \(limit)-byte frame "
                            + "limit of this connection; \(route.tooLargeAdvice)"))
            }
            if route.auditsSuccess || outcome.result.isFailure {
                self.audit.record(
                    .apiCall(
                        call: call, keyScope: session.scope, result: outcome.result.map { _ in () },
                        target: outcome.target, detail: outcome.detail),
                    session: session)
            }
            reply(outcome.result)
        }
        switch route.handler {
        case .blocking(let body):
            self.queue.async {
                do throws(AdminError) {
                    finish(AdminOutcome(result: .success(try body(payload, session))))
                } catch {
                    finish(AdminOutcome(result: .failure(error)))
                }
            }
        case .answered(let body):
            do throws(AdminError) {
                try body(payload, session, finish)
            } catch {
                finish(AdminOutcome(result: .failure(error)))
            }
        }
    }

    /// Decodes a request message; a malformed one is INVALID_ARGUMENT.
    static func decode<Message: ProtoMessage>(_ type: Message.Type, _ payload: [UInt8]) throws(AdminError) -> Message {
        do throws(WireError) {
            return try Message(protoBytes: payload)
        } catch {
            throw error.adminError
        }
    }
}

extension Result {
    /// True for `.failure`.
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
