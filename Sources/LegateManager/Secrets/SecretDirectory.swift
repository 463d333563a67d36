import Foundation
import LegateAuth
import LegateCore
import LegateStore
import Synchronization

/// Key rings, ring key copies (current versions), secrets and their versions of every account, in memory, loaded
/// at start and changed only after the store has the change. Everything held here is public or sealed.
final class SecretDirectory: Sendable {
    struct State: Sendable {
        var rings: [String: KeyRingRecord] = [:]
        /// Copies by ring id, then delegate id (every version kept; routing reads the ring's current one).
        var copies: [String: [String: [UInt32: RingKeyCopyRecord]]] = [:]
        var secrets: [String: SecretRecord] = [:]
        /// Versions by secret id, oldest first.
        var versions: [String: [SecretVersionRecord]] = [:]
    }

    private let state = Mutex(State())

    /// Loads everything from the store.
    func load(from store: any StateStore) throws(StoreError) {
        let rings = try store.allKeyRings()
        let copies = try store.allRingKeyCopies()
        let secrets = try store.allSecrets()
        let versions = try store.allSecretVersions()
        self.state.withLock { state in
            state = State()
            for ring in rings { state.rings[ring.id] = ring }
            for copy in copies { state.copies[copy.ringID, default: [:]][copy.delegateID, default: [:]][copy.ringVersion] = copy }
            for secret in secrets { state.secrets[secret.id] = secret }
            for version in versions { state.versions[version.secretID, default: []].append(version) }
        }
    }

    /// Reads the state under the lock.
    func read<T>(_ body: (State) -> T) -> T { self.state.withLock { body($0) } }

    /// Changes the state under the lock.
    func modify<T>(_ body: (inout State) -> T) -> T { self.state.withLock { body(&$0) } }

    /// The ring of an account with this name.
    func ring(accountID: String, name: String) -> KeyRingRecord? {
        self.read { $0.rings.values.first { $0.accountID == accountID && $0.name == name } }
    }

    /// The secret of an account with this name.
    func secret(accountID: String, name: String) -> SecretRecord? {
        self.read { $0.secrets.values.first { $0.accountID == accountID && $0.name == name } }
    }

    /// The current-version copy of a ring for a delegate.
    func currentCopy(ringID: String, delegateID: String) -> RingKeyCopyRecord? {
        self.read { state in
            guard let ring = state.rings[ringID], ring.ringVersion > 0 else { return nil }
            return state.copies[ringID]?[delegateID]?[ring.ringVersion]
        }
    }
}

/// The fingerprint of a device public key: `SHA256:` and the unpadded standard base64 of its SHA-256, the form
/// `legate-delegate` prints at start, so an operator can compare the two.
enum DeviceFingerprint {
    static func of(_ publicKey: [UInt8]) -> String {
        guard !publicKey.isEmpty else { return "" }
        let digest = Data(SHA256Digest.hash(publicKey)).base64EncodedString()
        return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }
}
