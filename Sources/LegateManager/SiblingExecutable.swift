import Foundation

/// How the banner names another Legate executable: the binary installed next to the running manager when there
/// is one (release builds, packages), else `swift run NAME` (a source checkout).
public enum SiblingExecutable {
    /// The running executable's real path (`/proc/self/exe`), or nil when it cannot be read.
    public static func currentExecutable() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    /// The command that runs `name`: the executable file `name` in the directory of `executable` when it exists,
    /// else `swift run name`.
    public static func command(_ name: String, nextTo executable: String?) -> String {
        if let executable {
            let candidate = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "swift run " + name
    }
}
