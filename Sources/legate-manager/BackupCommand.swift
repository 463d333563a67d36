// `legate-manager backup --to FILE [--data-dir DIR]`: kept apart from the server's flags.
import Foundation
import LegateCommandLine
import LegateManager
import LegateNet

let backupUsage = """
    usage: legate-manager backup --to FILE [--data-dir DIR]
      --to FILE                   new file for the copy of the database (must not exist; written mode 0600)
      --data-dir DIR              the manager's data directory (default ./legate-data); a manager may be running
    """

/// Runs the backup subcommand and returns the exit status: 0 done, 1 failed, 2 usage.
func runBackupCommand(_ words: [String]) -> Int32 {
    let destination: String
    let directory: String
    do {
        let arguments = try CommandLineArguments(
            words, valueFlags: ["--to", "--data-dir"], switchFlags: ["--help", "--version"])
        if arguments.isSet("--help") {
            say(backupUsage)
            return 0
        }
        if arguments.isSet("--version") {
            say("legate-manager \(LegateVersion.current)")
            return 0
        }
        if let extra = arguments.positionals.first { throw CommandLineArguments.ParseError.unknownFlag(extra) }
        destination = try arguments.required("--to")
        directory = arguments.string("--data-dir") ?? ManagerConfiguration.defaults.dataDirectory
    } catch {
        OutputWriter.standardError.write("legate-manager backup: \(error)\n\(backupUsage)\n")
        return 2
    }
    do {
        let report = try DataDirectoryBackup.run(dataDirectory: directory, to: destination)
        say("backup written: \(report.backupFile) (\(report.bytes) bytes, schema \(report.schemaVersion))")
        say("keep it together with the master key \(report.masterKeyFile): token values in the copy are")
        say("encrypted with that key, and the copy cannot be used without it (store the key apart, securely)")
        say("restore: stop the manager, put the copy in place as legate.db (remove legate.db-wal and")
        say("legate.db-shm), put the master key beside it as master.key, start the manager")
        return 0
    } catch {
        OutputWriter.standardError.write("legate-manager backup: \(error)\n")
        return 1
    }
}
