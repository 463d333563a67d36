import LegateCore
import LegateWire

// MARK: - Admin calls 140-154: key rings and secrets.

extension SecretService {
    /// Registers the key ring and secret calls.
    func registerRoutes(into router: AdminRouter) {
        router.register(.keyRingCreate, permissions: [.secretEdit]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(KeyRingCreateRequest.self, payload)
            return self.info(try self.createRing(request, session: session)).protoBytes()
        }
        router.register(.keyRingUpdate, permissions: [.secretEdit]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(KeyRingCreateRequest.self, payload)
            return self.info(try self.updateRing(request, session: session)).protoBytes()
        }
        router.register(.keyRingSetKey, permissions: [.secretEdit]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(KeyRingSetKeyRequest.self, payload)
            return self.info(try self.setRingKey(request, session: session)).protoBytes()
        }
        router.register(.keyRingList, permissions: [.secretView]) { payload, session throws(AdminError) in
            _ = try AdminRouter.decode(KeyRingListRequest.self, payload)
            var response = KeyRingListResponse()
            response.rings = self.directory.read { state in
                state.rings.values.filter { $0.accountID == session.accountID && session.scope.covers($0.scope) }
            }.sorted { $0.name < $1.name }.map(self.info)
            return response.protoBytes()
        }
        router.register(.keyRingShow, permissions: [.secretView]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(KeyRingRef.self, payload)
            return self.info(try self.visibleRing(request.name, session: session)).protoBytes()
        }
        for (method, isRotation) in [(AdminMethod.secretCreate, false), (.secretRotate, true)] {
            router.register(method, permissions: [.secretEdit]) { payload, session throws(AdminError) in
                let request = try AdminRouter.decode(SecretCreateRequest.self, payload)
                return self.info(try self.saveSecret(request, isRotation: isRotation, session: session)).protoBytes()
            }
        }
        router.register(.secretList, permissions: [.secretView]) { payload, session throws(AdminError) in
            _ = try AdminRouter.decode(SecretListRequest.self, payload)
            var response = SecretListResponse()
            response.secrets = self.directory.read { state in
                state.secrets.values.filter { $0.accountID == session.accountID && session.scope.covers($0.scope) }
            }.sorted { $0.name < $1.name }.map(self.info)
            return response.protoBytes()
        }
        router.register(.secretShow, permissions: [.secretView]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(SecretRef.self, payload)
            return self.info(try self.visibleSecret(request.name, session: session)).protoBytes()
        }
        router.register(.secretDelete, permissions: [.secretEdit]) { payload, session throws(AdminError) in
            let request = try AdminRouter.decode(SecretRef.self, payload)
            try self.deleteSecret(name: request.name, session: session)
            return request.protoBytes()
        }
    }
}
