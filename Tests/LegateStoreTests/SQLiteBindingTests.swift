import Testing

@testable import LegateStore

/// Prepared statements keep their small bindings between runs; no run may see a value bound by an earlier one.
@Suite struct SQLiteBindingTests {
    static let pair = SQLStatement("SELECT ?, ?")

    func connection() throws -> (TemporaryDirectory, SQLiteConnection) {
        let directory = try TemporaryDirectory()
        return (directory, try SQLiteConnection(path: directory.file("b.db")))
    }

    @Test func parametersARunLeavesUnboundReadNull() throws {
        let (directory, connection) = try self.connection()
        defer { _ = directory }
        let full = try connection.query(Self.pair, [.text("a"), .int(7)], operation: "pair") {
            [$0.optionalText(0), $0.optionalInt(1).map(String.init)]
        }
        #expect(full == [["a", "7"]])
        let short = try connection.query(Self.pair, [.text("b")], operation: "pair") {
            [$0.optionalText(0), $0.optionalInt(1).map(String.init)]
        }
        #expect(short == [["b", nil]])
    }

    @Test func eachRunReadsItsOwnValuesSmallOrLarge() throws {
        let (directory, connection) = try self.connection()
        defer { _ = directory }
        for round in 0..<4 {
            let size = round.isMultiple(of: 2) ? 10 : SQLiteConnection.keptBindingBytes * 2
            let blob = [UInt8](repeating: UInt8(round), count: size)
            let text = String(repeating: "x", count: round) + "\(round)"
            let rows = try connection.query(Self.pair, [.blob(blob), .text(text)], operation: "pair") {
                ($0.blob(0), $0.text(1))
            }
            #expect(rows.count == 1)
            #expect(rows.first?.0 == blob)
            #expect(rows.first?.1 == text)
        }
    }
}
