import Foundation

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

/// Why delegate settings could not be read. Messages never include a setting's value (it may be a token).
public enum DelegateSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configuration-file line is not `key = value`, a comment or blank.
    case malformedLine(path: String, line: Int)
    /// A configuration-file key names no setting.
    case unknownKey(path: String, line: Int, key: String)

    /// What happened and what to do.
    public var description: String {
        switch self {
        case .malformedLine(let path, let line):
            return "\(path) line \(line) is not 'key = value' (nor a # comment or blank); fix or remove it"
        case .unknownKey(let path, let line, let key):
            return "\(path) line \(line): unknown key '\(key)'; the keys are listed by legate-delegate --help"
        }
    }
}

/// The settings of `legate-delegate` and how they combine: a flag wins over the environment, which wins over the
/// configuration file (`--config PATH`: `key = value` lines, `#` comments, blank lines; unknown keys refused).
public enum DelegateSettings {
    /// Every setting, in `--help` order.
    public static let all: [DelegateSetting] = [
        .init(key: "manager", variable: "LEGATE_MANAGER", placeholder: "HOST:PORT", help: "manager address"),
        .init(key: "account", variable: "LEGATE_ACCOUNT_ID", placeholder: "ID", help: "account of the delegate"),
        .init(key: "token", variable: "LEGATE_DELEGATE_TOKEN", placeholder: "VALUE",
              help: "delegate token (argv is visible: prefer token_file)"),
        .init(key: "token_file", variable: "LEGATE_DELEGATE_TOKEN_FILE", placeholder: "PATH",
              help: "file holding the token; rewritten when the manager rotates it (wins over token)"),
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

    /// The `key = value` pairs of a configuration file; `path` names it in errors.
    public static func parseFile(_ text: String, path: String) throws(DelegateSettingsError) -> [String: String] {
        let known = Set(self.all.map(\.key))
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw .malformedLine(path: path, line: index + 1) }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard !key.isEmpty else { throw .malformedLine(path: path, line: index + 1) }
            guard known.contains(key) else { throw .unknownKey(path: path, line: index + 1, key: key) }
            values[key] = value
        }
        return values
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
