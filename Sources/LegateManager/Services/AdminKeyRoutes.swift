import LegateCore
import LegateStore
import LegateWire

// MARK: - Admin key calls (120...122): keys managed like tokens, the value shown once.

extension AdminKeyService {
    static let maxNameBytes = 64

    /// Registers the admin key calls; each needs `account:admin` and reaches only keys within the caller's scope.
    func registerRoutes(into router: AdminRouter) {
        router.register(.adminKeyCreate, permissions: [.accountAdmin]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(AdminKeyCreateRequest.self, payload)
            let (key, record) = try self.create(request, session: session)
            var response = AdminKeyCreateResponse()
            response.key = self.info(record)
            response.value = key.value
            return response.protoBytes()
        }
        router.register(.adminKeyList, permissions: [.accountAdmin]) { payload, session throws(AdminError) in
            _ = try AdminRouter.decode(AdminKeyListRequest.self, payload)
            var response = AdminKeyListResponse()
            response.keys = try self.visibleKeys(session).map(self.info)
            return response.protoBytes()
        }
        router.register(.adminKeyRevoke, permissions: [.accountAdmin]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(AdminKeyRef.self, payload)
            return self.info(try self.revoke(keyID: request.keyID, session: session)).protoBytes()
        }
    }

    private func create(_ request: AdminKeyCreateRequest, session: AdminSession) throws(AdminError)
        -> (AdminAPIKey, AdminKeyRecord)
    {
        guard (1...Self.maxNameBytes).contains(request.name.utf8.count) else {
            throw .invalidArgument("name must be 1...\(Self.maxNameBytes) bytes")
        }
        guard !request.permissions.isEmpty else {
            let known = AdminPermission.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidArgument("give at least one permission (\(known))")
        }
        var permissions: [AdminPermission] = []
        for name in request.permissions {
            guard let permission = AdminPermission(rawValue: name) else {
                let known = AdminPermission.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalidArgument("unknown permission \(name); known: \(known)")
            }
            if !permissions.contains(permission) { permissions.append(permission) }
        }
        let scope: Scope
        do throws(Scope.ParseError) {
            scope = request.scope.isEmpty ? session.scope : try Scope(parsing: request.scope)
        } catch {
            throw .invalidArgument(error.description)
        }
        // A key never reaches further than the key that made it.
        guard session.scope.covers(scope) else {
            throw .permissionDenied("scope \(scope) is outside this key's scope \(session.scope)")
        }
        guard request.expiresInSeconds >= 0 else {
            throw .invalidArgument(
                "expires_in_seconds \(request.expiresInSeconds) is negative; give a positive number of seconds, "
                    + "or 0 for a key that never expires")
        }
        let expiresAt =
            request.expiresInSeconds > 0
            ? self.now + min(request.expiresInSeconds, Int64.max / 2_000) * 1000 : nil
        return try self.createKey(
            accountID: session.accountID, name: request.name, permissions: permissions, actor: session.actor,
            scope: scope, expiresAt: expiresAt)
    }

    private func visibleKeys(_ session: AdminSession) throws(AdminError) -> [AdminKeyRecord] {
        do throws(StoreError) {
            return try self.keys(accountID: session.accountID).filter { record in
                (try? Scope(parsing: record.scope)).map(session.scope.covers) ?? false
            }
        } catch {
            throw error.adminError
        }
    }

    private func revoke(keyID: String, session: AdminSession) throws(AdminError) -> AdminKeyRecord {
        guard var record = try self.visibleKeys(session).first(where: { $0.id == keyID }) else {
            throw .notFound("admin key \(keyID) does not exist; legatectl admin-key list shows the keys")
        }
        if record.revokedAt != nil { return record }
        record.revokedAt = self.now
        try self.store(record, event: .adminKeyRevoked(keyID: record.id, name: record.name), session: session)
        return record
    }

    /// The admin view of a key: never its value or hash.
    func info(_ record: AdminKeyRecord) -> AdminKeyInfo {
        var info = AdminKeyInfo()
        info.id = record.id
        info.name = record.name
        info.scope = record.scope
        info.permissions = record.permissions
        info.createdAtMs = record.createdAt
        info.createdBy = record.createdBy
        info.revokedAtMs = record.revokedAt ?? 0
        info.expiresAtMs = record.expiresAt ?? 0
        info.status = record.revokedAt != nil ? "revoked" : record.isUsable(at: self.now) ? "active" : "expired"
        return info
    }
}
