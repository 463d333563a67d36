// `legate-manager admin-key create --data-dir DIR`: the offline recovery key, kept apart from the server's flags.
import Foundation
import LegateCommandLine
import LegateManager
import LegateNet

/// The usage of the `admin-key` noun (it has one verb, `create`).
let adminKeyUsage = """
    usage: legate-manager admin-key create --data-dir DIR [--name NAME]
                                  offline recovery: a new admin API key with every permission in DIR's account,
                                  printed once and audited (works while the manager runs, too)
    """

/// Runs `legate-manager admin-key ...` (the words after `admin-key`) and returns the exit status: 0 done (or help
/// or version printed), 1 failed, 2 usage.
func runAdminKeyCommand(_ words: [String]) -> Int32 {
    func usageError(_ message: String) -> Int32 {
        OutputWriter.standardError.write("legate-manager admin-key: \(message)\n\(adminKeyUsage)\n")
        return 2
    }
    guard let verb = words.first, !verb.hasPrefix("-") else {
        // `admin-key`, `admin-key --help`, `admin-key --version`: this level's usage or the version.
        if words.contains("--version") {
            say("legate-manager \(LegateVersion.current)")
            return 0
        }
        if words.contains("-h") || words.contains("--help") {
            say(adminKeyUsage)
            return 0
        }
        return usageError(words.first.map { "unknown option \($0)" } ?? "which command? the one there is: create")
    }
    guard verb == "create" else { return usageError("unknown command 'admin-key \(verb)'") }
    let arguments: CommandLineArguments
    do {
        arguments = try CommandLineArguments(
            Array(words.dropFirst()), valueFlags: ["--data-dir", "--name"], switchFlags: ["--help", "--version"])
    } catch {
        return usageError("\(error)")
    }
    if arguments.isSet("--help") {
        say(adminKeyUsage)
        return 0
    }
    if arguments.isSet("--version") {
        say("legate-manager \(LegateVersion.current)")
        return 0
    }
    if let extra = arguments.positionals.first { return usageError("unexpected argument \(extra)") }
    guard let directory = arguments.string("--data-dir"), !directory.isEmpty else {
        return usageError("create needs --data-dir DIR (the manager's data directory)")
    }
    do {
        let key = try DataDirectoryRecovery.createAdminKey(
            dataDirectory: directory, name: arguments.string("--name") ?? "recovery",
            now: Int64(Date().timeIntervalSince1970 * 1000))
        say("admin API key (shown once, store it now; all permissions): \(key.value)")
        return 0
    } catch {
        OutputWriter.standardError.write("legate-manager admin-key: \(error)\n")
        return 1
    }
}
