import Foundation
import Testing

/// Runs a built executable of this package (`.build/debug/NAME`, built by `swift build --build-tests`) and
/// returns its exit status, standard output and standard error.
struct ExecutableRunner {
    /// The executable's path, or nil when it is not built.
    static func path(_ name: String) -> String? {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let path = url.appendingPathComponent(".build/debug/\(name)").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// What a run printed and how it ended.
    struct Result {
        let status: Int32
        let output: String
        let error: String
    }

    let name: String

    /// Runs the executable with `arguments` in `environment` (nothing inherited) and waits for it to exit.
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let binary = try #require(Self.path(self.name), "build \(self.name) first (swift build --build-tests)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        // Standard error goes to a file: reading two pipes in turn could block on the one not read.
        let errorPath = NSTemporaryDirectory() + "legate-stderr-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let errorFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardOutput = output
        process.standardError = errorFile
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errorFile.close()
        let errorText = FileManager.default.contents(atPath: errorPath) ?? Data()
        return Result(
            status: process.terminationStatus, output: String(decoding: data, as: UTF8.self),
            error: String(decoding: errorText, as: UTF8.self))
    }
}
