import Dispatch
import LegateCore
import LegateTestSupport
import LegateWire
import Testing

@testable import LegateManager

/// The admin router: permissions first, blocking calls on the admin queue, answered calls on their own, and one
/// audit row per call as before (ok, denied, or the status code).
@Suite struct AdminRouterTests {
    let fixture: ServiceFixture
    let queue = DispatchQueue(label: "test.admin")
    let onQueue = DispatchSpecificKey<Bool>()
    let router: AdminRouter

    init() throws {
        self.fixture = try ServiceFixture()
        self.queue.setSpecific(key: self.onQueue, value: true)
        self.router = AdminRouter(queue: self.queue, audit: self.fixture.services.audit)
    }

    func session(_ permissions: Set<AdminPermission>) -> AdminSession {
        AdminSession(keyID: "k1", accountID: ServiceFixture.accountID, permissions: permissions, scope: .account)
    }

    func serve(_ method: AdminMethod, _ session: AdminSession) -> Result<[UInt8], AdminError>? {
        let answer = Mailbox<Result<[UInt8], AdminError>>()
        self.router.serve(method: method.rawValue, payload: [], session: session) { answer.put($0) }
        return answer.next()
    }

    func audit() throws -> [(action: String, outcome: String)] {
        self.fixture.services.writer.flush()
        return try self.fixture.store.auditRecords(accountID: ServiceFixture.accountID, limit: 100).reversed()
            .map { ($0.action, $0.outcome) }
    }

    @Test func aBlockingCallRunsOnTheAdminQueueAndIsAudited() throws {
        let key = self.onQueue
        self.router.register(.tokenList, permissions: [.delegateView]) { _, _ throws(AdminError) in
            [DispatchQueue.getSpecific(key: key) == true ? 1 : 0]
        }
        #expect(try self.serve(.tokenList, self.session([.delegateView]))?.get() == [1])
        #expect(try self.audit().map(\.action) == ["api.tokenList"])
        #expect(try self.audit().map(\.outcome) == ["ok"])
    }

    @Test func aMissingPermissionIsDeniedBeforeTheCallRuns() throws {
        self.router.register(.tokenRevoke, permissions: [.delegateDelete]) { _, _ throws(AdminError) in
            Issue.record("the call ran without its permission")
            return []
        }
        guard case .failure(let error)? = self.serve(.tokenRevoke, self.session([.delegateView])) else {
            Issue.record("a call without its permission was served")
            return
        }
        #expect(error.code == .permissionDenied && error.message.contains("delegate:delete"))
        #expect(try self.audit().map(\.outcome) == ["denied"])
    }

    @Test func anUnknownMethodIsUnimplemented() {
        guard case .failure(let error)? = self.serve(.tokenShow, self.session(Set(AdminPermission.allCases))) else {
            Issue.record("an unregistered method was served")
            return
        }
        #expect(error.code == .unimplemented)
    }

    @Test func aRefusalIsAuditedWithItsStatusCode() throws {
        self.router.register(.tokenDelete, permissions: []) { _, _ throws(AdminError) in
            throw .failedPrecondition("token t1 is active; revoke it first")
        }
        #expect(self.serve(.tokenDelete, self.session([]))?.isFailure == true)
        #expect(try self.audit().map(\.outcome) == ["\(StatusCode.failedPrecondition)"])
    }

    @Test func anAnsweredCallAuditsOnlyFailuresUnlessAskedTo() throws {
        self.router.registerAnswered(.taskGet, permissions: [], auditsSuccess: false) {
            payload, _, reply throws(AdminError) in
            guard payload.isEmpty else { throw .invalidArgument("request is malformed") }
            reply(AdminOutcome(result: .success([7]), target: "t1"))
        }
        #expect(try self.serve(.taskGet, self.session([]))?.get() == [7])
        let answer = Mailbox<Result<[UInt8], AdminError>>()
        self.router.serve(method: AdminMethod.taskGet.rawValue, payload: [1], session: self.session([])) {
            answer.put($0)
        }
        #expect(answer.next()?.isFailure == true)
        #expect(try self.audit().map(\.outcome) == ["\(StatusCode.invalidArgument)"])
    }
}
