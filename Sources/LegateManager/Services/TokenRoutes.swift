import LegateCore
import LegateWire

// MARK: - Token admin calls (101...107): decode, call the token service, encode.

extension TokenService {
    /// Registers the token calls; `delegates` supplies the delegate views of TokenShow.
    func registerRoutes(into router: AdminRouter, delegates: DelegateQueries) {
        router.register(.tokenCreate, permissions: [.delegateEdit]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(TokenCreateRequest.self, payload)
            let scope: Scope
            do throws(Scope.ParseError) {
                scope = try Scope(parsing: request.scope)
            } catch {
                throw .invalidArgument(error.description)
            }
            guard request.expiresInSeconds >= 0 else {
                throw .invalidArgument(
                    "expires_in_seconds \(request.expiresInSeconds) is negative; give a positive number of seconds, "
                        + "or 0 for a token that never expires")
            }
            let expiresAt =
                request.expiresInSeconds > 0 ? self.clock.unixMilliseconds() + request.expiresInSeconds * 1000 : nil
            let created = try self.create(name: request.name, scope: scope, expiresAt: expiresAt, session: session)
            var response = TokenCreateResponse()
            response.token = Self.info(created.summary)
            response.value = created.value
            return response.protoBytes()
        }
        router.register(.tokenList, permissions: [.delegateView]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(TokenListRequest.self, payload)
            var response = TokenListResponse()
            response.tokens = try self.list(session: session, nameContains: request.nameContains).map(Self.info)
            return response.protoBytes()
        }
        router.register(.tokenShow, permissions: [.delegateView]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(TokenRef.self, payload)
            var response = TokenShowResponse()
            response.token = Self.info(try self.summary(id: request.tokenID, session: session))
            response.delegates = try delegates.infos(session: session, tokenID: request.tokenID)
            return response.protoBytes()
        }
        router.register(.tokenCopy, permissions: [.delegateEdit]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(TokenRef.self, payload)
            var response = TokenCopyResponse()
            response.value = try self.copy(id: request.tokenID, session: session)
            return response.protoBytes()
        }
        router.register(.tokenRevoke, permissions: [.delegateDelete]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(TokenRevokeRequest.self, payload)
            let report = try self.revoke(id: request.tokenID, session: session, dryRun: request.dryRun)
            var response = TokenRevokeResponse()
            response.tokenID = report.tokenID
            response.dryRun = report.dryRun
            response.wasAlreadyRevoked = report.wasAlreadyRevoked
            response.connected = UInt32(clamping: report.connected)
            response.told = UInt32(clamping: report.told)
            response.acknowledged = UInt32(clamping: report.acknowledged)
            response.notReached = UInt32(clamping: report.notReached)
            response.fanOutMs = report.fanOutDuration.wireMilliseconds
            return response.protoBytes()
        }
        router.register(.tokenDelete, permissions: [.delegateDelete]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(TokenRef.self, payload)
            try self.delete(id: request.tokenID, session: session)
            var response = TokenDeleteResponse()
            response.tokenID = request.tokenID
            return response.protoBytes()
        }
        router.register(.tokenRotate, permissions: [.delegateEdit, .delegateDelete]) {
            payload, session throws(AdminError) in
            let request = try AdminRouter.decode(TokenRotateRequest.self, payload)
            let overlap =
                request.overlapSeconds > 0
                ? Duration.seconds(Int64(request.overlapSeconds)) : Self.defaultRotationOverlap
            let report = try self.rotate(id: request.tokenID, session: session, overlap: overlap)
            var response = TokenRotateResponse()
            response.token = Self.info(try self.summary(id: report.token.id, session: session))
            response.value = report.value
            response.connected = UInt32(clamping: report.connected)
            response.told = UInt32(clamping: report.told)
            response.acknowledged = UInt32(clamping: report.acknowledged)
            response.oldTokenRevokedAtMs = report.oldTokenRevokedAt
            return response.protoBytes()
        }
    }

    /// The admin view of a token.
    static func info(_ summary: TokenSummary) -> TokenInfo {
        var info = TokenInfo()
        info.id = summary.id
        info.accountID = summary.accountID
        info.name = summary.name
        info.scope = summary.scope
        // The expiry sweep revokes an expired token; it reads as expired, not as revoked by someone.
        let expired = summary.status == .revoked && summary.expiresAt.map { $0 <= (summary.revokedAt ?? 0) } == true
        info.status = expired ? "expired" : summary.status.rawValue
        info.createdAtMs = summary.createdAt
        info.createdBy = summary.createdBy
        info.revokedAtMs = summary.revokedAt ?? 0
        info.expiresAtMs = summary.expiresAt ?? 0
        info.connectedDelegates = UInt32(clamping: summary.connectedDelegates)
        info.lastUsedAtMs = summary.lastUsedAt ?? 0
        return info
    }
}
