import Foundation
import LegateStore

/// `legate-manager backup`: a consistent copy of a data directory's database, taken while a manager may run.
public enum DataDirectoryBackup {
    /// What a backup wrote, and what the operator must keep with it.
    public struct Report: Sendable, Equatable {
        /// The database copy (mode 0600).
        public let backupFile: String
        /// Its size in bytes.
        public let bytes: Int64
        /// The schema version the copy holds.
        public let schemaVersion: Int
        /// The master key file that decrypts the token values in the copy; without it the copy is useless.
        public let masterKeyFile: String
    }

    /// The database file of a data directory.
    public static func databaseFile(in dataDirectory: String) -> String {
        dataDirectory + "/" + ManagerBootstrap.databaseFileName
    }

    /// The master key file of a data directory.
    public static func masterKeyFile(in dataDirectory: String) -> String {
        dataDirectory + "/" + ManagerBootstrap.masterKeyFileName
    }

    /// Copies the database of `dataDirectory` to the new file `destination` (see `SQLiteBackup.copy`).
    public static func run(dataDirectory: String, to destination: String) throws(ManagerError) -> Report {
        let keyFile = self.masterKeyFile(in: dataDirectory)
        guard FileManager.default.fileExists(atPath: keyFile) else {
            throw .masterKey(path: keyFile, reason: "missing, so no backup would be restorable; is --data-dir right?")
        }
        do {
            let result = try SQLiteBackup.copy(database: self.databaseFile(in: dataDirectory), to: destination)
            return Report(
                backupFile: result.path, bytes: result.bytes, schemaVersion: result.schemaVersion,
                masterKeyFile: keyFile)
        } catch {
            throw .store("backup failed: \(error.description)")
        }
    }
}
