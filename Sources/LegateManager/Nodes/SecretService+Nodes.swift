import LegateCore
import LegateStore

// Key ring and secret changes across manager nodes: each node keeps the secrets directory in memory, so a change
// is written with one control per other live node, and each node reloads the directory when it applies one. Only
// public keys and ciphertext travel this way, as everywhere else in the manager.

extension SecretService {
    /// Writes `writes` durably together with one `secretsChanged` control per other live node, then wakes them.
    func writeAnnouncing(_ writes: [StoreWrite], accountID: String) throws(StoreError) {
        let controls = self.cluster.controls(.secretsChanged, subject: accountID, peers: try self.cluster.livePeers())
        try self.writer.writeDurably(writes + controls.map { .insertNodeControl($0) })
        self.cluster.notify(controls)
    }

    /// Applies a change another node announced: reloads the directory from the store, tells the task board which
    /// rings the delegates connected here hold now, and checks the rings (a member here may have work to do).
    /// Blocking (store reads).
    func reloadAnnounced() throws(AdminError) {
        do throws(StoreError) {
            try self.directory.load(from: self.store)
        } catch {
            throw error.adminError
        }
        self.refreshRouting(self.registry.connectedRecords().map(\.id))
        self.reconcileSoon()
    }
}
