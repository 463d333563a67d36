import Foundation
import Synchronization

/// The process groups of task commands still running in this process, so a stopping delegate can make sure none
/// outlives it (a task process left behind would run on while the manager re-runs its task elsewhere).
public enum ProcessGroups {
    private static let live = Mutex<Set<Int32>>([])

    /// Group leaders (pid = pgid) of task processes that have not exited yet.
    public static var running: Set<Int32> { self.live.withLock { $0 } }

    /// Records a launched process (its pid is its process group id).
    static func launched(_ pid: Int32) {
        guard pid > 0 else { return }
        self.live.withLock { _ = $0.insert(pid) }
    }

    /// Forgets a process that exited.
    static func exited(_ pid: Int32) {
        self.live.withLock { _ = $0.remove(pid) }
    }

    /// Sends `signal` to every live group; returns how many were signalled.
    @discardableResult
    public static func signalAll(_ signal: Int32) -> Int {
        let groups = self.running
        for pid in groups { kill(-pid, signal) }
        return groups.count
    }
}
