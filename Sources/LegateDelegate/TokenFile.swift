import Foundation

/// Why a token file could not be read or written. Messages name the path, never the token.
public enum TokenFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file could not be replaced.
    case unwritable(path: String, reason: String)

    /// What happened and what to do.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read the token file \(path): \(reason); check that it exists and this user may read it"
        case .unwritable(let path, let reason):
            return "cannot write the token file \(path): \(reason); this user must be able to create files in its "
                + "directory"
        }
    }
}

/// The delegate's token kept in a file, so the token the manager rotated to is the one a restart uses.
public enum TokenFile {
    /// The token text in `path`, surrounding white space removed.
    public static func read(_ path: String) throws(TokenFileError) -> String {
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw .unreadable(path: path, reason: Self.reason(error))
        }
    }

    /// Replaces `path` with `value` atomically: a mode-0600 temporary file in the same directory, written and
    /// fsynced, then renamed over it (a crash leaves the old token or the new one, never a torn file).
    public static func write(_ value: String, to path: String) throws(TokenFileError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp-"
            + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .unwritable(path: path, reason: Self.errnoText()) }
        let bytes = Array((value + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = Self.errnoText()
                close(descriptor)
                unlink(temporary)
                throw .unwritable(path: path, reason: reason)
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            let reason = Self.errnoText()
            close(descriptor)
            unlink(temporary)
            throw .unwritable(path: path, reason: reason)
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let reason = Self.errnoText()
            unlink(temporary)
            throw .unwritable(path: path, reason: reason)
        }
        // The rename is durable once the directory is synced.
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }
}
