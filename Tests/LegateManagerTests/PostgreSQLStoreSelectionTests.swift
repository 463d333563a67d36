import Foundation
import LegateCore
import LegateManager
import Testing

/// `storeURL` makes the manager use PostgreSQL instead of the SQLite file in its data directory.
@Suite struct PostgreSQLStoreSelectionTests {
    @Test func anUnreachableServerStopsTheStartWithItsAddressAndNoPassword() throws {
        let directory = NSTemporaryDirectory() + "legate-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ManagerConfiguration.defaults
        configuration.port = 0
        configuration.dataDirectory = directory
        configuration.storeURL = "postgresql://legate:hunter2@127.0.0.1:1/legate"
        let error = #expect(throws: ManagerError.self) {
            _ = try Manager.start(configuration: configuration, log: DiscardingLogSink())
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("postgresql://legate@127.0.0.1:1/legate"))
        #expect(text.contains("unavailable"))
        #expect(!text.contains("hunter2"))
        // The SQLite default was not used instead.
        #expect(!FileManager.default.fileExists(atPath: directory + "/legate.db"))
    }
}
