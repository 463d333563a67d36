internal import CPostgreSQL
import Foundation

/// Read access to one row of a PostgreSQL result, in text format (bytea arrives as `\x` hex).
struct PostgreSQLRow {
    fileprivate let result: OpaquePointer
    fileprivate let index: Int32

    /// Whether the column is NULL.
    func isNull(_ column: Int32) -> Bool { PQgetisnull(self.result, self.index, column) != 0 }

    /// Text column (empty when NULL).
    func text(_ column: Int32) -> String {
        guard !self.isNull(column), let value = PQgetvalue(self.result, self.index, column) else { return "" }
        let count = Int(PQgetlength(self.result, self.index, column))
        return value.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    /// Text column, nil when NULL.
    func optionalText(_ column: Int32) -> String? { self.isNull(column) ? nil : self.text(column) }

    /// Integer column (0 when NULL).
    func int(_ column: Int32) -> Int64 { Int64(self.text(column)) ?? 0 }

    /// Integer column, nil when NULL.
    func optionalInt(_ column: Int32) -> Int64? { self.isNull(column) ? nil : self.int(column) }

    /// bytea column (empty when NULL), decoded from the server's hex output.
    func blob(_ column: Int32) -> [UInt8] {
        let text = Array(self.text(column).utf8)
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else { return [] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((text.count - 2) / 2)
        var position = 2
        while position + 1 < text.count {
            bytes.append(Self.nibble(text[position]) << 4 | Self.nibble(text[position + 1]))
            position += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8 {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: 0
        }
    }
}

/// One libpq connection with a prepared-statement cache. A lost connection is closed and reopened by the next call.
/// `@unchecked Sendable`: it is only ever touched inside the owning store's `Mutex`, one thread at a time.
final class PostgreSQLConnection: @unchecked Sendable {
    /// The server address without any password, for error messages.
    let address: String
    private let connectionString: String
    private var handle: OpaquePointer?
    private var statements: [String: String] = [:]

    /// Connects to `connectionString` (a `postgresql://` URL or libpq key=value string).
    init(connectionString: String, address: String) throws(StoreError) {
        self.connectionString = connectionString
        self.address = address
        try self.connect()
    }

    deinit { PQfinish(self.handle) }

    private func connect() throws(StoreError) {
        let connection = PQconnectdb(self.connectionString)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let reason = connection.map { Self.message(PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(connection)
            throw .unavailable(server: self.address, reason: reason)
        }
        // Notices (such as "already exists, skipping") would go to stderr; the store has nothing to say with them.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.handle = connection
        self.statements = [:]
        // A commit must be on the server's disk before `apply` returns, whatever the database's default says.
        let result = PQexec(connection, "SET synchronous_commit = on")
        defer { PQclear(result) }
        try self.check(result, connection, operation: "require durable commits")
    }

    /// The open connection, reconnecting when the last one was lost.
    private func open() throws(StoreError) -> OpaquePointer {
        if let handle = self.handle, PQstatus(handle) == CONNECTION_OK { return handle }
        PQfinish(self.handle)
        self.handle = nil
        try self.connect()
        guard let handle = self.handle else { throw .unavailable(server: self.address, reason: "not connected") }
        return handle
    }

    /// The socket of the open connection (connecting first if needed), for waiting on notifications.
    func socketDescriptor() throws(StoreError) -> Int32 { PQsocket(try self.open()) }

    /// Reads whatever the server sent and returns the channels notified since the last call (empty when none).
    /// A lost connection throws `.unavailable`.
    func notifiedChannels() throws(StoreError) -> [String] {
        let connection = try self.open()
        guard PQconsumeInput(connection) == 1 else {
            let reason = Self.message(PQerrorMessage(connection))
            PQfinish(self.handle)
            self.handle = nil
            throw .unavailable(server: self.address, reason: "connection lost while listening: \(reason)")
        }
        var channels: [String] = []
        while let notification = PQnotifies(connection) {
            channels.append(String(cString: notification.pointee.relname))
            PQfreemem(notification)
        }
        return channels
    }

    /// Runs statements without parameters (DDL, BEGIN, COMMIT); several may be separated by semicolons.
    func execute(_ sql: String, operation: String) throws(StoreError) {
        let connection = try self.open()
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        try self.check(result, connection, operation: operation)
    }

    /// Runs one prepared statement with bound parameters (`?` placeholders); returns the rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue], operation: String) throws(StoreError) -> Int {
        let result = try self.prepared(sql, values, operation: operation)
        defer { PQclear(result) }
        return Int(Self.message(PQcmdTuples(result))) ?? 0
    }

    /// Runs one prepared query with bound parameters and maps every row.
    func query<T>(
        _ sql: String, _ values: [SQLValue], operation: String, _ map: (PostgreSQLRow) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        let result = try self.prepared(sql, values, operation: operation)
        defer { PQclear(result) }
        let count = PQntuples(result)
        var rows: [T] = []
        rows.reserveCapacity(Int(count))
        for index in 0..<count { rows.append(try map(PostgreSQLRow(result: result, index: index))) }
        return rows
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try self.retryingStaleConnection { () throws(StoreError) in
            try self.execute("BEGIN", operation: "begin transaction")
        }
        do {
            let value = try body()
            try self.execute("COMMIT", operation: "commit")
            return value
        } catch {
            if let handle = self.handle, PQstatus(handle) == CONNECTION_OK {
                PQclear(PQexec(handle, "ROLLBACK"))
            }
            throw error
        }
    }

    /// Runs `body` again once when it failed because the connection was lost: a connection that was idle while the
    /// server restarted only shows it is dead on first use. Only for work that changed nothing, such as BEGIN.
    func retryingStaleConnection<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch .unavailable {
            return try body()
        }
    }

    private func prepared(_ sql: String, _ values: [SQLValue], operation: String) throws(StoreError) -> OpaquePointer {
        let connection = try self.open()
        let name: String
        if let known = self.statements[sql] {
            name = known
        } else {
            name = "legate_\(self.statements.count)"
            let result = PQprepare(connection, name, Self.numbered(sql), 0, nil)
            defer { PQclear(result) }
            try self.check(result, connection, operation: operation)
            self.statements[sql] = name
        }
        var buffers: [UnsafeMutableRawPointer?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        defer { for buffer in buffers { buffer?.deallocate() } }
        for value in values {
            switch value {
            case .text(let text):
                buffers.append(Self.copy(Array(text.utf8) + [0]))
                lengths.append(0)
                formats.append(0)
            case .int(let number):
                buffers.append(Self.copy(Array(String(number).utf8) + [0]))
                lengths.append(0)
                formats.append(0)
            case .blob(let bytes):  // bytea in binary format: the raw bytes, no escaping
                buffers.append(Self.copy(bytes))
                lengths.append(Int32(clamping: bytes.count))
                formats.append(1)
            case .null:
                buffers.append(nil)
                lengths.append(0)
                formats.append(0)
            }
        }
        let pointers: [UnsafePointer<CChar>?] = buffers.map {
            $0.map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
        }
        let result = PQexecPrepared(connection, name, Int32(values.count), pointers, lengths, formats, 0)
        do {
            try self.check(result, connection, operation: operation)
        } catch {
            PQclear(result)
            throw error
        }
        guard let result else { throw .unavailable(server: self.address, reason: "no result for \(operation)") }
        return result
    }

    private static func copy(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { buffer.copyMemory(from: base, byteCount: source.count) }
        }
        return buffer
    }

    /// `?` placeholders become `$1`, `$2`...; the store's SQL has no other question marks.
    static func numbered(_ sql: String) -> String {
        var output = ""
        var number = 0
        for character in sql {
            if character == "?" {
                number += 1
                output += "$\(number)"
            } else {
                output.append(character)
            }
        }
        return output
    }

    /// Maps a failed result: a lost connection is retryable (and closed, so the next call reconnects), SQLSTATE
    /// class 23 is a constraint like SQLite's.
    private func check(_ result: OpaquePointer?, _ connection: OpaquePointer, operation: String) throws(StoreError) {
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK { return }
        let message =
            result.flatMap { Self.field($0, Self.diagnosticMessage) } ?? Self.message(PQerrorMessage(connection))
        let state = result.flatMap { Self.field($0, Self.diagnosticSQLState) } ?? ""
        // No SQLSTATE means libpq itself failed talking to the server ("server closed the connection
        // unexpectedly"), which it does not always reflect in PQstatus at once.
        if PQstatus(connection) != CONNECTION_OK || state.isEmpty || state.hasPrefix("08") || state.hasPrefix("57P") {
            PQfinish(self.handle)
            self.handle = nil
            throw .unavailable(server: self.address, reason: "connection lost during \(operation): \(message)")
        }
        if state.hasPrefix("23") { throw .constraint("\(operation): \(message)") }
        if state == "40001" || state == "40P01" || state == "55P03" { throw .busy(path: self.address) }
        throw .postgreSQL(server: self.address, sqlState: state, message: message, operation: operation)
    }

    /// libpq's PG_DIAG_SQLSTATE and PG_DIAG_MESSAGE_PRIMARY: character macros Swift does not import.
    private static let diagnosticSQLState = Int32(UInt8(ascii: "C"))
    private static let diagnosticMessage = Int32(UInt8(ascii: "M"))

    private static func field(_ result: OpaquePointer, _ code: Int32) -> String? {
        PQresultErrorField(result, code).map { String(cString: $0) }
    }

    /// A libpq message on one line: it may span several, with a tab-indented hint.
    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        return String(cString: text).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}
