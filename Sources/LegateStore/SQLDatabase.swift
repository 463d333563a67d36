/// One result row of a SQL backend, read by column index.
protocol SQLRowReading {
    /// A text column ("" for NULL).
    func text(_ column: Int32) -> String
    /// A text column, nil for NULL.
    func optionalText(_ column: Int32) -> String?
    /// An integer column (0 for NULL).
    func int(_ column: Int32) -> Int64
    /// An integer column, nil for NULL.
    func optionalInt(_ column: Int32) -> Int64?
    /// A binary column.
    func blob(_ column: Int32) -> [UInt8]
}

/// What the statements shared by the SQLite and PostgreSQL stores need of a connection: run and query with bound
/// values, a name for errors, and the few spellings in which the two dialects differ.
protocol SQLDatabase {
    /// The row type the backend reads.
    associatedtype Row: SQLRowReading
    /// The file or server, named in errors (never a password).
    var location: String { get }
    /// Runs one statement with bound values; returns the rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue], operation: String) throws(StoreError) -> Int
    /// Runs one query with bound values and maps every row.
    func rows<T>(
        _ sql: String, _ values: [SQLValue], operation: String, _ map: (Row) throws(StoreError) -> T
    ) throws(StoreError) -> [T]
    /// Runs a statement declared once (`SQLStatement`); a backend may find its prepared form by identity.
    @discardableResult
    func run(_ statement: SQLStatement, _ values: [SQLValue], operation: String) throws(StoreError) -> Int
    /// Runs a query declared once (`SQLStatement`) and maps every row.
    func rows<T>(
        _ statement: SQLStatement, _ values: [SQLValue], operation: String, _ map: (Row) throws(StoreError) -> T
    ) throws(StoreError) -> [T]
    /// An empty binary literal (`x''`, `''::bytea`).
    static var emptyBinary: String { get }
    /// A bound parameter used as an integer argument of a function (`?`, `?::int`).
    static var integerParameter: String { get }
    /// A bound parameter compared with a 64-bit integer column (`?`, `?::bigint`).
    static var bigintParameter: String { get }
    /// The function giving a binary column's size in bytes (`length`, `octet_length`).
    static var byteLengthFunction: String { get }
}

extension SQLDatabase {
    /// By text, for backends that cache by text.
    @discardableResult
    func run(_ statement: SQLStatement, _ values: [SQLValue], operation: String) throws(StoreError) -> Int {
        try self.run(statement.sql, values, operation: operation)
    }

    /// By text, for backends that cache by text.
    func rows<T>(
        _ statement: SQLStatement, _ values: [SQLValue], operation: String, _ map: (Row) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        try self.rows(statement.sql, values, operation: operation, map)
    }
}

extension SQLRow: SQLRowReading {}
extension PostgreSQLRow: SQLRowReading {}

extension SQLiteConnection: SQLDatabase {
    var location: String { self.path }
    static let emptyBinary = "x''"
    static let integerParameter = "?"
    static let bigintParameter = "?"
    static let byteLengthFunction = "length"

    func rows<T>(
        _ sql: String, _ values: [SQLValue], operation: String, _ map: (SQLRow) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        try self.query(sql, values, operation: operation, row: map)
    }

    func rows<T>(
        _ statement: SQLStatement, _ values: [SQLValue], operation: String, _ map: (SQLRow) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        try self.query(statement, values, operation: operation, row: map)
    }
}

extension PostgreSQLConnection: SQLDatabase {
    var location: String { self.address }
    static let emptyBinary = "''::bytea"
    static let integerParameter = "?::int"
    static let bigintParameter = "?::bigint"
    static let byteLengthFunction = "octet_length"

    func rows<T>(
        _ sql: String, _ values: [SQLValue], operation: String, _ map: (PostgreSQLRow) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        try self.query(sql, values, operation: operation, map)
    }
}
