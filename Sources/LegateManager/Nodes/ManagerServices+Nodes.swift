import LegateCore
import LegateStore
import LegateWire

// The receiving end of the control queue, and the node list of the admin API.

extension ManagerServices {
    /// Most controls applied per poll; the rest wait for the next one.
    static let controlBatch = 256

    /// Reads the controls queued for this node, applies each and writes back what it reached; returns how many
    /// there were. Blocking (store reads and writes, fan-out waits): runs on the node queue.
    @discardableResult
    func applyQueuedControls() -> Int {
        let queued: [NodeControl]
        do throws(StoreError) {
            queued = try self.store.pendingControls(nodeID: self.cluster.nodeID, limit: Self.controlBatch)
        } catch {
            self.log.log(.warning, "node control queue unreadable; will retry", ["error": error.description])
            return 0
        }
        for control in queued {
            var outcome = control
            do throws(AdminError) {
                outcome = try self.apply(control)
            } catch {
                self.log.log(
                    .warning, "node control not applied",
                    ["kind": control.kind.rawValue, "subject": control.subject, "error": error.message])
            }
            outcome.doneAt = self.clock.unixMilliseconds()
            do throws(StoreError) {
                try self.store.completeControl(outcome)
            } catch {
                self.log.log(.warning, "node control outcome not recorded", ["error": error.description])
            }
        }
        return queued.count
    }

    /// Applies one control from another node to this node's caches and connected delegates.
    func apply(_ control: NodeControl) throws(AdminError) -> NodeControl {
        var outcome = control
        switch control.kind {
        case .tokenRevoked, .tokenChanged, .tokenRotated:
            return try self.tokenService.apply(control)
        case .delegateChanged:
            let stored: DelegateRecord?
            do throws(StoreError) {
                stored = try self.store.delegate(id: control.subject)
            } catch {
                throw error.adminError
            }
            if let stored {
                let told = self.approvals.applyChange(stored)
                (outcome.connected, outcome.told, outcome.acknowledged) = (told, told, told)
            }
        case .delegateDeleted:
            (outcome.connected, outcome.told, outcome.acknowledged) = self.approvals.applyDelete(
                delegateID: control.subject)
        case .secretsChanged:
            try self.secrets.reloadAnnounced()
        case .profileChanged:
            do throws(StoreError) {
                let stored = try self.store.profiles(accountID: control.subject)
                for profile in self.profiles.profiles(accountID: control.subject)
                where !stored.contains(where: { $0.name == profile.name }) {
                    self.profiles.remove(accountID: control.subject, name: profile.name)
                }
                for profile in stored { self.profiles.put(profile) }
            } catch {
                throw error.adminError
            }
        }
        return outcome
    }

    /// Registers `node list` (124).
    func registerNodeRoutes(into router: AdminRouter) {
        router.register(.nodeList, permissions: [.accountAdmin]) { payload, _ throws(AdminError) in
            _ = try AdminRouter.decode(NodeListRequest.self, payload)
            let nodes: [NodeRecord]
            do throws(StoreError) {
                nodes = try self.store.nodes()
            } catch {
                throw error.adminError
            }
            var response = NodeListResponse()
            response.answeredBy = self.cluster.nodeID
            response.nodes = nodes.map { node in
                var info = NodeInfo()
                info.id = node.id
                info.address = node.address
                info.startedAtMs = node.startedAt
                info.lastSeenAtMs = node.lastSeenAt
                info.connectedDelegates = UInt32(clamping: node.connectedDelegates)
                return info
            }
            return response.protoBytes()
        }
    }
}
