import Synchronization

/// Names (or ids) taken by an operation in flight: reserved in memory before a durable write and released after
/// it, so two concurrent admin calls cannot both create the same name or decide the same delegate, without a
/// lock held across the write.
final class Reservations: Sendable {
    private let taken = Mutex<Set<String>>([])

    /// Creates an empty set.
    init() {}

    /// Reserves `key`; false when another operation holds it.
    func reserve(_ key: String) -> Bool {
        self.taken.withLock { $0.insert(key).inserted }
    }

    /// Reserves those of `keys` nobody holds; returns them (the others are busy).
    func reserveFree(_ keys: [String]) -> Set<String> {
        self.taken.withLock { taken in
            var reserved: Set<String> = []
            for key in keys where !taken.contains(key) {
                taken.insert(key)
                reserved.insert(key)
            }
            return reserved
        }
    }

    /// Releases keys reserved earlier.
    func release<Keys: Sequence<String>>(_ keys: Keys) {
        self.taken.withLock { taken in
            for key in keys { taken.remove(key) }
        }
    }

    /// Runs `body` with `key` reserved, or throws `busy` when another operation holds it.
    func with<T, E: Error>(_ key: String, busy: E, _ body: () throws(E) -> T) throws(E) -> T {
        guard self.reserve(key) else { throw busy }
        defer { self.release([key]) }
        return try body()
    }
}
