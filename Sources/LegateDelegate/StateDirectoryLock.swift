import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why a state directory could not be claimed.
public enum StateDirectoryLockError: Error, Equatable, CustomStringConvertible {
    /// Another running delegate holds the directory.
    case held(directory: String)
    /// The lock file could not be opened or locked.
    case unusable(directory: String, reason: String)

    /// A message saying what happened and what to do.
    public var description: String {
        switch self {
        case .held(let directory):
            return "another legate-delegate is running with the state directory \(directory); a state directory is "
                + "one delegate's identity and device key, so give each delegate its own --state-dir"
        case .unusable(let directory, let reason):
            return "cannot lock the state directory \(directory): \(reason); check --state-dir"
        }
    }
}

/// An exclusive claim on a delegate's state directory for the life of the process: two delegates sharing one
/// directory would register as the same delegate and replace each other's session.
public final class StateDirectoryLock: Sendable {
    /// The lock file's name inside the state directory.
    public static let fileName = "lock"
    private let descriptor: Int32

    /// Claims `directory` (which must exist); throws `.held` when another process holds it.
    public init(directory: String) throws(StateDirectoryLockError) {
        let path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .unusable(directory: directory, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { throw .held(directory: directory) }
            throw .unusable(directory: directory, reason: String(cString: strerror(code)))
        }
        self.descriptor = descriptor
    }

    deinit {
        close(self.descriptor)
    }
}
