import LegateCore
import Synchronization

/// The profiles of every account, in memory for registrations (read on the event loops, written by admin calls
/// after the store has them).
final class ProfileDirectory: Sendable {
    private let profiles = Mutex<[String: [String: ProfileRecord]]>([:])

    /// The profile `name` of `accountID` (empty name: the default profile).
    func profile(accountID: String, name: String) -> ProfileRecord? {
        let key = name.isEmpty ? ProfileRecord.defaultName : name
        return self.profiles.withLock { $0[accountID]?[key] }
    }

    /// Profiles of one account, by name.
    func profiles(accountID: String) -> [ProfileRecord] {
        self.profiles.withLock { ($0[accountID] ?? [:]).values.sorted { $0.name < $1.name } }
    }

    /// Stores (or replaces) a durable profile.
    func put(_ profile: ProfileRecord) {
        self.profiles.withLock { $0[profile.accountID, default: [:]][profile.name] = profile }
    }

    /// Forgets a deleted profile.
    func remove(accountID: String, name: String) {
        self.profiles.withLock { _ = $0[accountID]?.removeValue(forKey: name) }
    }
}
