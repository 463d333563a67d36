// The one error type of LegateStore.

/// Everything that can go wrong reading or writing the state store.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The database file could not be opened or configured.
    case openFailed(path: String, reason: String)
    /// An SQLite call failed with a code not mapped below.
    case sqlite(code: Int32, message: String, operation: String)
    /// SQLITE_FULL: the disk (or the page limit) is full; the transaction was rolled back.
    case diskFull(path: String)
    /// SQLITE_IOERR: the operating system refused a read or write.
    case ioError(path: String, reason: String)
    /// SQLITE_BUSY / SQLITE_LOCKED: another process holds the database.
    case busy(path: String)
    /// SQLITE_CORRUPT / SQLITE_NOTADB, or a row that cannot be decoded.
    case corrupt(path: String, reason: String)
    /// The database was written by a newer Legate.
    case schemaTooNew(found: Int, supported: Int)
    /// A write broke a rule (duplicate id, missing row, deleting an active token...).
    case constraint(String)
    /// The PostgreSQL server (address without password) cannot be reached or dropped the connection; the
    /// transaction was not committed and the next call reconnects.
    case unavailable(server: String, reason: String)
    /// A PostgreSQL statement failed with an SQLSTATE not mapped to another case.
    case postgreSQL(server: String, sqlState: String, message: String, operation: String)

    /// Whether retrying the same write later may succeed (busy, disk full, I/O error).
    public var isTransient: Bool {
        switch self {
        case .busy, .diskFull, .ioError, .unavailable: true
        case .openFailed, .sqlite, .corrupt, .schemaTooNew, .constraint, .postgreSQL: false
        }
    }

    /// What happened and what to do about it.
    public var description: String {
        switch self {
        case .openFailed(let path, let reason):
            "cannot open state store \(path): \(reason); check the path, its directory and permissions"
        case .sqlite(let code, let message, let operation):
            "SQLite error \(code) during \(operation): \(message)"
        case .diskFull(let path):
            "disk full writing \(path); free space and retry; nothing was written"
        case .ioError(let path, let reason):
            "I/O error on \(path): \(reason); check the disk and retry; nothing was written"
        case .busy(let path):
            "state store \(path) is locked by another process; stop the other manager using it and retry"
        case .corrupt(let path, let reason):
            "state store \(path) is corrupt: \(reason); restore it from a backup"
        case .schemaTooNew(let found, let supported):
            "state store schema version \(found) is newer than this build supports (\(supported)); "
                + "run a newer legate-manager or restore an older backup"
        case .constraint(let what):
            "write refused: \(what); nothing in the batch was written"
        case .unavailable(let server, let reason):
            "PostgreSQL server \(server) is unavailable: \(reason); check that it is running and reachable, "
                + "then retry; nothing was written"
        case .postgreSQL(let server, let sqlState, let message, let operation):
            "PostgreSQL error \(sqlState) on \(server) during \(operation): \(message)"
        }
    }
}
