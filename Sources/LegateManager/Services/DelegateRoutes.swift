import LegateCore
import LegateWire

// MARK: - Delegate admin calls (108, 109, 115...118, 120): views, decisions and deletes.

extension ApprovalService {
    /// Registers the delegate views (over `delegates`) and the approval calls.
    func registerRoutes(into router: AdminRouter, delegates: DelegateQueries) {
        router.register(.delegateList, permissions: [.delegateView]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(DelegateListRequest.self, payload)
            var response = DelegateListResponse()
            response.delegates = try delegates.infos(
                session: session, tokenID: request.tokenID.isEmpty ? nil : request.tokenID)
            return response.protoBytes()
        }
        router.register(.delegateShow, permissions: [.delegateView]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(DelegateRef.self, payload)
            return delegates.sessionInfo(try delegates.record(id: request.delegateID, session: session)).protoBytes()
        }
        router.register(.delegatePendingList, permissions: [.delegateView]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(DelegatePendingListRequest.self, payload)
            var response = DelegateListResponse()
            response.delegates = try delegates.infos(session: session).filter {
                $0.status == DelegateStatus.pending.rawValue
                    && (request.profile.isEmpty || $0.profile == request.profile)
            }
            return response.protoBytes()
        }
        for (method, approve) in [(AdminMethod.delegateApprove, true), (.delegateReject, false)] {
            router.register(method, permissions: [.delegateApprove]) { payload, session throws(AdminError) in
                let request = try AdminRouter.decode(DelegateDecisionRequest.self, payload)
                let report = try self.decide(
                    try Self.selector(request), approve: approve, reason: request.reason, session: session)
                var response = DelegateDecisionResponse()
                response.decided = report.decided
                response.told = UInt32(clamping: report.told)
                response.skipped = report.skipped
                return response.protoBytes()
            }
        }
        router.register(.delegateDelete, permissions: [.delegateDelete]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(DelegateRef.self, payload)
            try self.delete(id: request.delegateID, session: session)
            return request.protoBytes()
        }
        self.registerPruneRoute(into: router)
    }

    /// The delegates a decision request names, exactly one way.
    static func selector(_ request: DelegateDecisionRequest) throws(AdminError) -> DecisionSelector {
        let ways = [!request.delegateIds.isEmpty, !request.profile.isEmpty, !request.tokenID.isEmpty].filter { $0 }
        guard ways.count == 1 else {
            throw .invalidArgument(
                "name the delegates one way: by ids, or --profile NAME, or --token ID (got \(ways.count))")
        }
        if !request.delegateIds.isEmpty { return .ids(request.delegateIds) }
        if !request.profile.isEmpty { return .profile(request.profile) }
        return .token(request.tokenID)
    }
}
