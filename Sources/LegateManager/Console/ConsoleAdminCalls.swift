import Dispatch
import LegateCore
import LegateHTTP
import LegateNet
import LegateWire
import Synchronization

/// The console's way into the manager: every read and change goes through the admin router, so a console action
/// meets exactly the permission checks, scope rules, services and audit rows of the same admin protocol call.
struct ConsoleAdminCalls: Sendable {
    /// The manager's admin router.
    let router: AdminRouter
    /// A call that does not answer within this is reported as unavailable (a revoke waits for its fan-out).
    var timeout: Duration = .seconds(60)

    /// Calls `method` with `request` as `session` and decodes the answer. Blocks the caller (the HTTP queue).
    func call<Response: ProtoMessage>(
        _ method: AdminMethod, _ request: some ProtoMessage, as session: AdminSession,
        returning: Response.Type = Response.self
    ) throws(AdminError) -> Response {
        let answer = Mutex<Result<[UInt8], AdminError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        self.router.serve(method: method.rawValue, payload: request.protoBytes(), session: session) { result in
            answer.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + self.timeout.dispatchInterval) == .success,
            let result = answer.withLock({ $0 })
        else {
            throw .unavailable("the manager did not answer \(method) within \(self.timeout); retry later")
        }
        let bytes: [UInt8]
        switch result {
        case .success(let payload): bytes = payload
        case .failure(let error): throw error
        }
        do throws(WireError) {
            return try Response(protoBytes: bytes)
        } catch {
            throw .unavailable("the manager's answer to \(method) did not decode (\(error)); report this")
        }
    }
}

extension AdminError {
    /// The HTTP status a console page answers with when a call is refused.
    var httpStatus: HTTPStatus {
        switch self.code {
        case .permissionDenied: return ConsoleStatus.forbidden
        case .unauthenticated: return ConsoleStatus.unauthorized
        case .notFound: return .notFound
        case .invalidArgument: return .badRequest
        case .failedPrecondition, .alreadyExists: return ConsoleStatus.conflict
        case .unavailable: return .serviceUnavailable
        default: return .internalServerError
        }
    }
}

/// Statuses the console answers with that the metrics endpoint never needed.
enum ConsoleStatus {
    /// 303 See Other: after a sign-in or sign-out, load this page.
    static let seeOther = HTTPStatus(code: 303, reason: "See Other")
    /// 401 Unauthorized: the key was not accepted.
    static let unauthorized = HTTPStatus(code: 401, reason: "Unauthorized")
    /// 403 Forbidden: no session, a wrong CSRF token, or a permission the key lacks.
    static let forbidden = HTTPStatus(code: 403, reason: "Forbidden")
    /// 409 Conflict: the state does not allow it now (delete an active token, create a taken name).
    static let conflict = HTTPStatus(code: 409, reason: "Conflict")
}
