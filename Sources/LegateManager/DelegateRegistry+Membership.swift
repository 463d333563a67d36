// Key ring membership follows delegates and tokens: a delegate that registers, is decided, deleted, or whose token
// is revoked or rotated may join or leave a ring. The places that make those changes say so here, and the secrets
// service (the observer) checks the rings then, instead of scanning every ring's delegates on every tick.

extension DelegateRegistry {
    /// A delegate registered, was approved, rejected or deleted, or a token was revoked, rotated or reloaded:
    /// asks the observer to check key ring membership soon (it coalesces and returns at once).
    func membershipMayHaveChanged() {
        self.membershipObserver.withLock { $0 }?()
    }
}
