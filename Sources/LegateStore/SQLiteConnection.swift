internal import CSQLite
#if canImport(Glibc)
internal import Glibc
#endif

/// A value bound to a statement parameter.
enum SQLValue {
    case text(String)
    case int(Int64)
    case blob([UInt8])
    case null

    /// `.int` or `.null`.
    static func int(_ value: Int64?) -> SQLValue { value.map { .int($0) } ?? .null }
}

/// A statement's text with an identity of its own: a connection finds its prepared form by that identity instead of
/// hashing the whole text on every use (the hot writes run thousands of times a second). Declare each once, as a
/// `static let`.
final class SQLStatement: Sendable {
    /// The SQL, with `?` placeholders.
    let sql: String

    init(_ sql: String) { self.sql = sql }
}

/// Read access to the current row of a stepping statement.
struct SQLRow {
    fileprivate let statement: OpaquePointer

    /// Text column (empty when NULL).
    func text(_ index: Int32) -> String {
        guard let pointer = sqlite3_column_text(self.statement, index) else { return "" }
        return String(cString: pointer)
    }

    /// Text column, nil when NULL.
    func optionalText(_ index: Int32) -> String? {
        sqlite3_column_type(self.statement, index) == SQLITE_NULL ? nil : self.text(index)
    }

    /// Integer column (0 when NULL).
    func int(_ index: Int32) -> Int64 { sqlite3_column_int64(self.statement, index) }

    /// Integer column, nil when NULL.
    func optionalInt(_ index: Int32) -> Int64? {
        sqlite3_column_type(self.statement, index) == SQLITE_NULL ? nil : sqlite3_column_int64(self.statement, index)
    }

    /// Blob column (empty when NULL).
    func blob(_ index: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(self.statement, index))
        guard count > 0, let base = sqlite3_column_blob(self.statement, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }
}

/// One SQLite connection with a prepared-statement cache.
/// `@unchecked Sendable`: it is only ever touched inside the owning store's `Mutex`, one thread at a time
/// (the connection is opened with SQLITE_OPEN_NOMUTEX, so that lock is what serialises access).
final class SQLiteConnection: @unchecked Sendable {
    /// Database file path, for error messages.
    let path: String
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    /// The same prepared statements (owned by `statements`), found by `SQLStatement` identity.
    private var statementsByIdentity: [ObjectIdentifier: OpaquePointer] = [:]

    /// Opens (creating if needed) the database file, readable by its owner only.
    init(path: String) throws(StoreError) {
        try Self.restrictToOwner(path)
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw .openFailed(path: path, reason: reason)
        }
        self.path = path
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
    }

    /// Mode every database file gets: SQLite creates `-wal`, `-shm` and `-journal` with the database file's mode,
    /// so a database created (or tightened) to 0600 keeps the whole store private to its owner.
    static let fileMode: mode_t = 0o600

    /// Creates `path` with mode 0600 when missing, and tightens it and its existing `-wal`/`-shm` to 0600
    /// (stores created by older versions were 0644). In-memory and URI names are left to SQLite.
    static func restrictToOwner(_ path: String) throws(StoreError) {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, Self.fileMode)
        guard fd >= 0 else { throw .openFailed(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fchmod(fd, Self.fileMode) == 0 else {
            throw .openFailed(path: path, reason: "cannot set mode 0600: \(String(cString: strerror(errno)))")
        }
        for suffix in ["-wal", "-shm", "-journal"] {
            // Missing companions are fine (ENOENT); SQLite creates them later with the database's mode.
            _ = chmod(path + suffix, Self.fileMode)
        }
    }

    deinit {
        for statement in self.statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(self.handle)
    }

    /// Runs one or more SQL statements without parameters.
    func execute(_ sql: String, operation: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(self.handle, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(self.handle))
            sqlite3_free(message)
            throw self.error(code, text, operation: operation)
        }
    }

    /// Runs a cached statement that returns no rows; returns the number of rows changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue], operation: String) throws(StoreError) -> Int {
        let statement = try self.prepared(sql, operation: operation)
        return try self.run(prepared: statement, values, operation: operation)
    }

    /// Runs a statement that returns no rows, found by identity; returns the number of rows changed.
    @discardableResult
    func run(_ statement: SQLStatement, _ values: [SQLValue], operation: String) throws(StoreError) -> Int {
        try self.run(prepared: try self.prepared(statement, operation: operation), values, operation: operation)
    }

    private func run(prepared statement: OpaquePointer, _ values: [SQLValue], operation: String) throws(StoreError)
        -> Int
    {
        let boundBytes = try self.bind(values, to: statement, operation: operation)
        defer { Self.reset(statement, boundBytes: boundBytes) }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else {
            throw self.error(code, String(cString: sqlite3_errmsg(self.handle)), operation: operation)
        }
        return Int(sqlite3_changes(self.handle))
    }

    /// Runs a cached query and maps every row.
    func query<T>(
        _ sql: String, _ values: [SQLValue], operation: String, row: (SQLRow) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        let statement = try self.prepared(sql, operation: operation)
        return try self.query(prepared: statement, values, operation: operation, row: row)
    }

    /// Runs a query found by identity and maps every row.
    func query<T>(
        _ statement: SQLStatement, _ values: [SQLValue], operation: String, row: (SQLRow) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        try self.query(prepared: try self.prepared(statement, operation: operation), values, operation: operation, row: row)
    }

    private func query<T>(
        prepared statement: OpaquePointer, _ values: [SQLValue], operation: String,
        row: (SQLRow) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        let boundBytes = try self.bind(values, to: statement, operation: operation)
        defer { Self.reset(statement, boundBytes: boundBytes) }
        var results: [T] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return results }
            guard code == SQLITE_ROW else {
                throw self.error(code, String(cString: sqlite3_errmsg(self.handle)), operation: operation)
            }
            results.append(try row(SQLRow(statement: statement)))
        }
    }

    // Prepared once: every store batch is one transaction, and sqlite3_exec would parse both texts each time.
    private static let begin = SQLStatement("BEGIN IMMEDIATE")
    private static let commit = SQLStatement("COMMIT")

    /// Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back on any error.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try self.run(Self.begin, [], operation: "begin transaction")
        do throws(StoreError) {
            let result = try body()
            try self.run(Self.commit, [], operation: "commit")
            return result
        } catch {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL); only roll back what is open.
            if sqlite3_get_autocommit(self.handle) == 0 {
                _ = sqlite3_exec(self.handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    /// The integer result of a single-value query such as a PRAGMA.
    func scalarInt(_ sql: String, operation: String) throws(StoreError) -> Int64 {
        try self.query(sql, [], operation: operation) { $0.int(0) }.first ?? 0
    }

    // MARK: - Private

    /// The cached prepared form of `sql`, compiled on first use.
    private func prepared(_ sql: String, operation: String) throws(StoreError) -> OpaquePointer {
        if let cached = self.statements[sql] { return cached }
        var prepared: OpaquePointer?
        let code = sqlite3_prepare_v3(self.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard code == SQLITE_OK, let prepared else {
            throw self.error(code, String(cString: sqlite3_errmsg(self.handle)), operation: operation)
        }
        self.statements[sql] = prepared
        return prepared
    }

    /// The cached prepared form of `statement`, looked up by identity (by text only the first time).
    private func prepared(_ statement: SQLStatement, operation: String) throws(StoreError) -> OpaquePointer {
        let key = ObjectIdentifier(statement)
        if let cached = self.statementsByIdentity[key] { return cached }
        let prepared = try self.prepared(statement.sql, operation: operation)
        self.statementsByIdentity[key] = prepared
        return prepared
    }

    /// Binds `values` to parameters 1...n; returns the text and blob bytes SQLite copied for them.
    private func bind(_ values: [SQLValue], to statement: OpaquePointer, operation: String) throws(StoreError) -> Int {
        // Bindings are kept between runs (see `reset`): parameters this run does not bind must read NULL.
        if values.count < Int(sqlite3_bind_parameter_count(statement)) { sqlite3_clear_bindings(statement) }
        var boundBytes = 0
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .text(let text):
                boundBytes += text.utf8.count
                // With its length, from the string's own UTF-8: passing the String itself made a C copy per bind.
                var text = text
                code = text.withUTF8 { bytes in
                    // An empty buffer may have no base address, which SQLite would bind as NULL: bind "" instead.
                    guard let base = bytes.baseAddress, !bytes.isEmpty else {
                        return sqlite3_bind_text(statement, index, "", 0, Self.transient)
                    }
                    return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                        sqlite3_bind_text(statement, index, $0, Int32(clamping: bytes.count), Self.transient)
                    }
                }
            case .int(let number): code = sqlite3_bind_int64(statement, index, number)
            case .null: code = sqlite3_bind_null(statement, index)
            case .blob(let bytes):
                boundBytes += bytes.count
                code = bytes.withUnsafeBytes { buffer in
                    // An empty buffer has no base address and would bind NULL; bind an empty blob instead.
                    guard let base = buffer.baseAddress else { return sqlite3_bind_zeroblob(statement, index, 0) }
                    return sqlite3_bind_blob(statement, index, base, Int32(buffer.count), Self.transient)
                }
            }
            guard code == SQLITE_OK else {
                Self.reset(statement, boundBytes: .max)
                throw self.error(code, String(cString: sqlite3_errmsg(self.handle)), operation: operation)
            }
        }
        return boundBytes
    }

    /// Bound copies larger than this are freed after the run; smaller ones stay until the next bind.
    static let keptBindingBytes = 4096

    /// Resets `statement` for its next run. Its bindings stay unless they hold more than `keptBindingBytes`:
    /// clearing them freed every bound text only for the next run to allocate it again (a few thousand
    /// instructions per task write), and every run binds all its parameters anyway.
    private static func reset(_ statement: OpaquePointer, boundBytes: Int) {
        sqlite3_reset(statement)
        if boundBytes > Self.keptBindingBytes { sqlite3_clear_bindings(statement) }
    }

    /// SQLITE_TRANSIENT: SQLite copies bound text and blobs (the C macro cannot be imported).
    private static var transient: sqlite3_destructor_type {
        unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    }

    /// Maps an SQLite result code to a StoreError.
    func error(_ code: Int32, _ message: String, operation: String) -> StoreError {
        switch code & 0xff {
        case SQLITE_FULL: .diskFull(path: self.path)
        case SQLITE_BUSY, SQLITE_LOCKED: .busy(path: self.path)
        case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt(path: self.path, reason: "\(operation): \(message)")
        case SQLITE_IOERR: .ioError(path: self.path, reason: "\(operation): \(message)")
        case SQLITE_CONSTRAINT: .constraint("\(operation): \(message)")
        default: .sqlite(code: code, message: message, operation: operation)
        }
    }
}
