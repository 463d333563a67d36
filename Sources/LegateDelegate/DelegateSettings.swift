import Foundation
import LegateCommandLine

/// One setting of `legate-delegate`: the flag, environment variable and configuration-file key that set it.
public struct DelegateSetting: Sendable, Equatable {
    /// Configuration-file key, e.g. `manager`.
    public let key: String
    /// Command-line flag, e.g. `--manager`.
    public var flag: String { "--" + self.key.replacingOccurrences(of: "_", with: "-") }
    /// Environment variable, e.g. `LEGATE_MANAGER`.
    public let variable: String
    /// What the value looks like, for `--help`.
    public let placeholder: String
    /// What it sets, for `--help`.
    public let help: String
}

/// Why delegate settings could not be read (the configuration file's errors).
public typealias DelegateSettingsError = SettingsFileError

/// The settings of `legate-delegate` and how they combine: a flag wins over the environment, which wins over the
/// configuration file (`--config PATH`: `key = value` lines, `#` comments, blank lines; unknown keys refused).
public enum DelegateSettings {
    /// Every setting, in `--help` order.
    public static let all: [DelegateSetting] = [
        .init(key: "manager", variable: "LEGATE_MANAGER", placeholder: "HOST:PORT[,HOST:PORT...]",
              help: "manager address; several managers sharing one store: tried in turn on loss or GOAWAY"),
        .init(key: "account", variable: "LEGATE_ACCOUNT_ID", placeholder: "ID", help: "account of the delegate"),
        .init(key: "token", variable: "LEGATE_DELEGATE_TOKEN", placeholder: "VALUE",
              help: "delegate token (argv is visible: prefer token_file)"),
        .init(key: "token_file", variable: "LEGATE_DELEGATE_TOKEN_FILE", placeholder: "PATH",
              help: "file holding the token; rewritten when the manager rotates it (wins over token)"),
        .init(key: "state_dir", variable: "LEGATE_DELEGATE_STATE_DIR", placeholder: "DIR",
              help: "this delegate's identity and device key; one per delegate (default: legate-state/NAME beside "
                + "token_file, else ~/.legate-delegate/NAME)"),
        .init(key: "ca_file", variable: "LEGATE_CA_FILE", placeholder: "PEM",
              help: "CA of the manager certificate (default: the system trust store)"),
        .init(key: "server_name", variable: "LEGATE_SERVER_NAME", placeholder: "NAME",
              help: "TLS server name (SNI and verification; default: the manager host)"),
        .init(key: "client_cert", variable: "LEGATE_CLIENT_CERT", placeholder: "PEM",
              help: "client certificate chain for mutual TLS"),
        .init(key: "client_key", variable: "LEGATE_CLIENT_KEY", placeholder: "PEM",
              help: "private key of client_cert"),
        .init(key: "name", variable: "LEGATE_DELEGATE_NAME", placeholder: "NAME", help: "delegate name (host name)"),
        .init(key: "tags", variable: "LEGATE_TAGS", placeholder: "a,b,c", help: "tags for task selectors"),
        .init(key: "profile", variable: "LEGATE_PROFILE", placeholder: "NAME", help: "profile to register with"),
        .init(key: "audience", variable: "LEGATE_AUDIENCE", placeholder: "AUD",
              help: "JWT audience (default legate-manager)"),
        .init(key: "capacity", variable: "LEGATE_CAPACITY", placeholder: "N", help: "tasks run at once (default 4)"),
        .init(key: "task_types", variable: "LEGATE_TASK_TYPES", placeholder: "a,b",
              help: "built-in task handlers: echo, shell (default both)"),
        .init(key: "drain_timeout", variable: "LEGATE_DRAIN_TIMEOUT", placeholder: "SECONDS",
              help: "on SIGTERM/SIGINT running tasks may finish this long, then are killed (default 10)"),
        .init(key: "log_format", variable: "LEGATE_LOG_FORMAT", placeholder: "text|json",
              help: "log line format (default text)"),
        .init(key: "log_level", variable: "LEGATE_LOG_LEVEL", placeholder: "LEVEL",
              help: "debug, info, warning or error (default info)"),
    ]

    /// The flags that take a value: every setting's and `--config`.
    public static var valueFlags: Set<String> { Set(self.all.map(\.flag) + ["--config"]) }

    /// `--help` text: each setting's flag, variable and file key.
    public static var usage: String {
        var lines = [
            "usage: legate-delegate [options]",
            "each setting: flag, environment variable, key in the --config file (key = value lines, # comments);",
            "a flag wins over the environment, which wins over the file.",
            "  --config PATH  LEGATE_DELEGATE_CONFIG  configuration file",
        ]
        for setting in self.all {
            lines.append("  \(setting.flag) \(setting.placeholder)  \(setting.variable)  \(setting.key)")
            lines.append("      \(setting.help)")
        }
        lines.append("exit status: 0 stopped (also on SIGTERM/SIGINT), 1 refused by the manager or misconfigured, "
                     + "2 usage, 3 self-destructed")
        return lines.joined(separator: "\n")
    }

    /// A delegate name as one safe path component (letters, digits, `.`, `_` and `-` kept, anything else `_`), for
    /// the default per-name state directory.
    public static func directoryName(_ name: String) -> String {
        let safe = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        return safe.isEmpty || safe == "." || safe == ".." ? "delegate" : safe
    }

    /// The `key = value` pairs of a configuration file; `path` names it in errors.
    public static func parseFile(_ text: String, path: String) throws(SettingsFileError) -> [String: String] {
        try SettingsFile.parse(text, path: path, keys: Set(self.all.map(\.key)), program: "legate-delegate")
    }

    /// Each setting's value by key: the flag's, else the (non-empty) environment variable's, else the file's.
    public static func resolve(
        flag: (String) -> String?, environment: [String: String], file: [String: String]
    ) -> [String: String] {
        var values: [String: String] = [:]
        for setting in self.all {
            let fromEnvironment = environment[setting.variable].flatMap { $0.isEmpty ? nil : $0 }
            if let value = flag(setting.flag) ?? fromEnvironment ?? file[setting.key] { values[setting.key] = value }
        }
        return values
    }
}
