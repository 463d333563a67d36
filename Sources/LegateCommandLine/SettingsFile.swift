import Foundation

/// Why a configuration file could not be read. Messages never include a value (it may be a secret).
public enum SettingsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line is not `key = value`, a comment or blank.
    case malformedLine(path: String, line: Int)
    /// A key names no setting.
    case unknownKey(path: String, line: Int, key: String, program: String)

    /// What happened and what to do.
    public var description: String {
        switch self {
        case .malformedLine(let path, let line):
            return "\(path) line \(line) is not 'key = value' (nor a # comment or blank); fix or remove it"
        case .unknownKey(let path, let line, let key, let program):
            return "\(path) line \(line): unknown key '\(key)'; the keys are listed by \(program) --help"
        }
    }
}

/// A configuration file of `key = value` lines: `#` comments and blank lines are skipped, a value may be quoted,
/// and a key outside `keys` is refused with its line number.
public enum SettingsFile {
    /// The `key = value` pairs of `text`; `path` names the file in errors, `program` the command to ask for keys.
    public static func parse(
        _ text: String, path: String, keys: Set<String>, program: String
    ) throws(SettingsFileError) -> [String: String] {
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
            guard keys.contains(key) else {
                throw .unknownKey(path: path, line: index + 1, key: key, program: program)
            }
            values[key] = value
        }
        return values
    }

    /// The file key of a flag: `--data-dir` is `data_dir`.
    public static func key(ofFlag flag: String) -> String {
        String(flag.drop { $0 == "-" }).replacingOccurrences(of: "-", with: "_")
    }

    /// The environment variable of a flag: `--data-dir` is `LEGATE_DATA_DIR`.
    public static func variable(ofFlag flag: String) -> String {
        "LEGATE_" + self.key(ofFlag: flag).uppercased()
    }

    /// Command-line words that set what the file and the environment say, to be placed before the real command
    /// line (a later flag wins): file values first, then non-empty environment variables. A switch is set by
    /// `true`, `yes` or `1` and left out otherwise.
    public static func layeredArguments(
        file: [String: String], environment: [String: String], valueFlags: Set<String>, switchFlags: Set<String>
    ) -> [String] {
        var words: [String] = []
        for source in [file, Self.fromEnvironment(environment, flags: valueFlags.union(switchFlags))] {
            for flag in valueFlags.sorted() {
                if let value = source[Self.key(ofFlag: flag)] { words += [flag, value] }
            }
            for flag in switchFlags.sorted() {
                if let value = source[Self.key(ofFlag: flag)], ["true", "yes", "1"].contains(value.lowercased()) {
                    words.append(flag)
                }
            }
        }
        return words
    }

    /// The settings the environment gives, by file key (empty variables are ignored).
    private static func fromEnvironment(_ environment: [String: String], flags: Set<String>) -> [String: String] {
        var values: [String: String] = [:]
        for flag in flags {
            if let value = environment[Self.variable(ofFlag: flag)], !value.isEmpty {
                values[Self.key(ofFlag: flag)] = value
            }
        }
        return values
    }
}
