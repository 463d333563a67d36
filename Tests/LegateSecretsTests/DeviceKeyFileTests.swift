import Foundation
import LegateSecrets
import Testing

/// A fresh directory path under the system temporary directory (not created).
func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("legate-secrets-\(UUID().uuidString)").path
}

/// The permission bits of `path`.
func mode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
}

@Suite struct DeviceKeyFileTests {
    @Test func createsOnceWithPrivateModesAndLoadsTheSameKey() throws {
        let directory = temporaryPath() + "/state"
        try FileManager.default.createDirectory(atPath: (directory as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let created = try DeviceKeyFile.loadOrCreate(in: directory)
        let path = DeviceKeyFile.path(in: directory)
        #expect(try mode(directory) == 0o700)
        #expect(try mode(path) == 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == 32)
        let loaded = try DeviceKeyFile.loadOrCreate(in: directory)
        #expect(loaded.publicKey == created.publicKey)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [DeviceKeyFile.fileName])
        #expect(DeviceKeyFile.path(in: directory + "/") == path)
    }

    @Test func refusesGroupOrOtherPermissions() throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try DeviceKeyFile.loadOrCreate(in: directory)
        let path = DeviceKeyFile.path(in: directory)
        for bits in [0o640, 0o604, 0o644, 0o660, 0o601] {
            try FileManager.default.setAttributes([.posixPermissions: bits], ofItemAtPath: path)
            #expect(throws: SecretsError.keyFileInsecure(path: path, mode: UInt32(0o100000 | bits))) {
                try DeviceKeyFile.loadOrCreate(in: directory)
            }
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        _ = try DeviceKeyFile.loadOrCreate(in: directory)
    }

    @Test func refusesCorruptFiles() throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = DeviceKeyFile.path(in: directory)
        for length in [0, 1, 31, 33, 64] {
            try? FileManager.default.removeItem(atPath: path)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: length),
                                                   attributes: [.posixPermissions: 0o600]))
            #expect(throws: SecretsError.keyFileCorrupt(path: path, reason: "\(length) bytes, 32 expected")) {
                try DeviceKeyFile.loadOrCreate(in: directory)
            }
        }
        // A symbolic link, even to a good key file, is refused rather than followed.
        try FileManager.default.removeItem(atPath: path)
        let elsewhere = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        _ = try DeviceKeyFile.loadOrCreate(in: elsewhere)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: DeviceKeyFile.path(in: elsewhere))
        #expect(throws: SecretsError.keyFileCorrupt(path: path, reason: "it is a symbolic link")) {
            try DeviceKeyFile.loadOrCreate(in: directory)
        }
        // Deleting removes the link, not the file it points to.
        try DeviceKeyFile.delete(in: directory)
        #expect(FileManager.default.fileExists(atPath: DeviceKeyFile.path(in: elsewhere)))
        // A directory where the key file belongs.
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(throws: SecretsError.keyFileCorrupt(path: path, reason: "not a regular file")) {
            try DeviceKeyFile.loadOrCreate(in: directory)
        }
    }

    @Test func refusesADirectoryPathThatIsAFile() throws {
        let file = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
        #expect(throws: SecretsError.keyDirectoryUnusable(path: file, reason: "not a directory")) {
            try DeviceKeyFile.loadOrCreate(in: file)
        }
        #expect(throws: SecretsError.self) { try DeviceKeyFile.loadOrCreate(in: file + "/missing/deeper") }
    }

    @Test func deleteRemovesTheKeyAndIsIdempotent() throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try DeviceKeyFile.loadOrCreate(in: directory)
        try DeviceKeyFile.delete(in: directory)
        #expect(!FileManager.default.fileExists(atPath: DeviceKeyFile.path(in: directory)))
        try DeviceKeyFile.delete(in: directory)
        let second = try DeviceKeyFile.loadOrCreate(in: directory)
        #expect(second.publicKey != first.publicKey)
    }
}
