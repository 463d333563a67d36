// The module's only I/O: the delegate's device key file, on POSIX calls so that modes, fsync and rename are exact.
internal import Glibc
internal import LegateAuth

/// The delegate's X25519 device private key in `<directory>/device-key`: 32 raw bytes, mode 0600, owned by the
/// delegate's user. Losing it means re-registering the device and re-sharing its key rings.
public enum DeviceKeyFile {
    /// The key file's name inside the directory.
    public static let fileName = "device-key"

    /// Loads the device key, or creates one when the file does not exist: the directory is created with mode 0700
    /// if missing, the key written to a temporary file (mode 0600), synced, renamed into place and the directory
    /// synced. Refuses a file readable by group or others, owned by another user, or not exactly 32 bytes.
    public static func loadOrCreate(in directory: String) throws(SecretsError) -> X25519PrivateKey {
        try ensureDirectory(directory)
        let path = Self.path(in: directory)
        if let key = try load(path: path) { return key }
        let key = try X25519PrivateKey.generate()
        var raw = key.rawRepresentation
        defer { wipe(&raw) }
        try writeAtomically(raw, to: path, directory: directory)
        return key
    }

    /// Overwrites the key file with zeros, syncs, and unlinks it (for self-destruct); a missing file is not an error.
    public static func delete(in directory: String) throws(SecretsError) {
        try destroy(path: Self.path(in: directory), directory: directory)
    }

    /// The key file's path in `directory`.
    public static func path(in directory: String) -> String {
        directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
    }

    /// The key at `path`, nil when there is no file; throws on an insecure or corrupt file.
    static func load(path: String) throws(SecretsError) -> X25519PrivateKey? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw .keyFileCorrupt(path: path, reason: "it is a symbolic link") }
            throw .keyFileIO(path: path, operation: "open", reason: describe(code))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw .keyFileIO(path: path, operation: "stat", reason: describe(errno))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .keyFileCorrupt(path: path, reason: "not a regular file") }
        guard info.st_mode & 0o077 == 0, info.st_uid == geteuid() else {
            throw .keyFileInsecure(path: path, mode: UInt32(info.st_mode))
        }
        guard info.st_size == X25519PrivateKey.byteCount else {
            throw .keyFileCorrupt(path: path, reason: "\(info.st_size) bytes, 32 expected")
        }
        var bytes = [UInt8](repeating: 0, count: X25519PrivateKey.byteCount + 1)
        defer { wipe(&bytes) }
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                read(descriptor, $0.baseAddress?.advanced(by: total), $0.count - total)
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .keyFileIO(path: path, operation: "read", reason: describe(errno)) }
            if count == 0 { break }
            total += count
        }
        guard total == X25519PrivateKey.byteCount else {
            throw .keyFileCorrupt(path: path, reason: "\(total) bytes read, 32 expected")
        }
        return try X25519PrivateKey(rawRepresentation: bytes.prefix(X25519PrivateKey.byteCount))
    }

    /// Writes `bytes` to a fresh temporary file in `directory`, syncs it, renames it to `path`, syncs the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws(SecretsError) {
        let suffix = SecureRandom.bytes(8).map { String($0, radix: 16) }.joined()
        let temporary = path + ".tmp-" + suffix
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .keyFileIO(path: temporary, operation: "create", reason: describe(errno))
        }
        var closed = false
        defer { if !closed { close(descriptor) } }
        do {
            // The creation mode is filtered by the umask; set it exactly.
            guard fchmod(descriptor, 0o600) == 0 else {
                throw SecretsError.keyFileIO(path: temporary, operation: "chmod", reason: describe(errno))
            }
            try writeAll(descriptor, bytes, path: temporary)
            guard fsync(descriptor) == 0 else {
                throw SecretsError.keyFileIO(path: temporary, operation: "sync", reason: describe(errno))
            }
            closed = true
            guard close(descriptor) == 0 else {
                throw SecretsError.keyFileIO(path: temporary, operation: "close", reason: describe(errno))
            }
            guard rename(temporary, path) == 0 else {
                throw SecretsError.keyFileIO(path: path, operation: "rename into place", reason: describe(errno))
            }
        } catch let error as SecretsError {
            unlink(temporary)
            throw error
        } catch {
            unlink(temporary)
            throw .keyFileIO(path: temporary, operation: "write", reason: "unexpected error")
        }
        syncDirectory(directory)
    }

    /// Overwrites the regular file at `path` with zeros, syncs, unlinks, and syncs the directory.
    static func destroy(path: String, directory: String) throws(SecretsError) {
        let descriptor = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT { return }
            // A symbolic link is removed without writing through it.
            if code != ELOOP { throw .keyFileIO(path: path, operation: "open", reason: describe(code)) }
        } else {
            defer { close(descriptor) }
            var info = stat()
            if fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 {
                try writeAll(descriptor, [UInt8](repeating: 0, count: Int(info.st_size)), path: path)
                guard fsync(descriptor) == 0 else {
                    throw .keyFileIO(path: path, operation: "sync", reason: describe(errno))
                }
            }
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .keyFileIO(path: path, operation: "unlink", reason: describe(errno))
        }
        syncDirectory(directory)
    }

    /// Creates `directory` with mode 0700 when missing; refuses a path that is not a directory.
    static func ensureDirectory(_ directory: String) throws(SecretsError) {
        var info = stat()
        if stat(directory, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw .keyDirectoryUnusable(path: directory, reason: "not a directory")
            }
            return
        }
        guard errno == ENOENT else { throw .keyDirectoryUnusable(path: directory, reason: describe(errno)) }
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw .keyDirectoryUnusable(path: directory, reason: describe(errno))
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(SecretsError) {
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeBytes {
                write(descriptor, $0.baseAddress?.advanced(by: total), $0.count - total)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw .keyFileIO(path: path, operation: "write", reason: describe(errno)) }
            total += count
        }
    }

    /// Best-effort fsync of a directory so a rename or unlink survives a crash.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    private static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
