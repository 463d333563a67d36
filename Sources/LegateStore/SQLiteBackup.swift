import Foundation

/// Consistent copies of a live SQLite store, safe while a manager keeps writing to it.
public enum SQLiteBackup {
    /// What a finished backup wrote.
    public struct Result: Sendable, Equatable {
        /// The backup file (mode 0600).
        public let path: String
        /// Its size in bytes.
        public let bytes: Int64
        /// The schema version it holds.
        public let schemaVersion: Int
    }

    /// Copies the database at `source` into the new file `destination` with `VACUUM INTO`: one read transaction,
    /// so the copy is a snapshot of the last committed write even while another process writes (WAL readers
    /// never block the writer). The destination must not exist; it is created 0600, synced to disk and checked.
    public static func copy(database source: String, to destination: String) throws(StoreError) -> Result {
        guard FileManager.default.fileExists(atPath: source) else {
            throw .openFailed(path: source, reason: "no database here; pass the manager's --data-dir")
        }
        // Created empty first, so the copy is private from its first byte (VACUUM INTO accepts an empty file).
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "already exists; choose a new file name" : String(cString: strerror(errno))
            throw .openFailed(path: destination, reason: reason)
        }
        close(fd)
        do throws(StoreError) {
            let connection = try SQLiteConnection(path: source)
            try connection.execute("PRAGMA busy_timeout = 5000", operation: "set busy timeout")
            try connection.run("VACUUM INTO ?", [.text(destination)], operation: "copy the database (VACUUM INTO)")
            try self.sync(destination)
            return try self.verify(destination)
        } catch {
            _ = unlink(destination)
            throw error
        }
    }

    /// SQLite does not fsync what VACUUM INTO writes; a backup that a power cut can lose is no backup.
    private static func sync(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .ioError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .ioError(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
    }

    /// Opens the copy on its own and runs SQLite's quick check, so a bad copy is reported now, not at restore.
    private static func verify(_ path: String) throws(StoreError) -> Result {
        let connection = try SQLiteConnection(path: path)
        let check = try connection.query("PRAGMA quick_check", [], operation: "check the backup") { $0.text(0) }
        guard check == ["ok"] else {
            throw .corrupt(path: path, reason: check.prefix(3).joined(separator: "; "))
        }
        let version = try connection.scalarInt("PRAGMA user_version", operation: "read the schema version")
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? nil
        return Result(path: path, bytes: size ?? 0, schemaVersion: Int(version))
    }
}
