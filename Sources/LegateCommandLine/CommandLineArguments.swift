import Foundation

/// A tiny `--flag value` parser shared by the executables (no package dependencies allowed).
public struct CommandLineArguments: Sendable {
    /// Why the command line could not be parsed; executables print it and exit 2.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingValue(flag: String)
        case unknownFlag(String)
        case invalidValue(flag: String, value: String, expected: String)
        case missingRequired(flag: String)

        /// A sentence naming the flag and what to pass.
        public var description: String {
            switch self {
            case .missingValue(let flag): return "\(flag) needs a value"
            case .unknownFlag(let flag): return "unknown option \(flag); see --help"
            case .invalidValue(let flag, let value, let expected):
                return "\(flag) \(value) is not valid; expected \(expected)"
            case .missingRequired(let flag): return "\(flag) is required"
            }
        }
    }

    /// Words that are not flags, in order.
    public private(set) var positionals: [String] = []
    private var values: [String: String] = [:]
    private var switches: Set<String> = []

    /// True when `-h` or `--help` was given anywhere: the executable prints its usage instead of running.
    public private(set) var helpRequested = false

    /// Parses `arguments`; `switchFlags` take no value, `valueFlags` take one. `-h` and `--help` are always
    /// accepted (see `helpRequested`); any other word starting with `-` that is not a number is an unknown option,
    /// so a flag from another tool (`-o json`) is refused instead of being read as an argument.
    public init(_ arguments: [String], valueFlags: Set<String>, switchFlags: Set<String> = []) throws(ParseError) {
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "-h" || (word == "--help" && !valueFlags.contains(word)) {
                self.helpRequested = true
                self.switches.insert("--help")
                continue
            }
            guard word.hasPrefix("--") else {
                if word.hasPrefix("-"), word.count > 1, Double(word) == nil { throw .unknownFlag(word) }
                self.positionals.append(word)
                continue
            }
            var flag = word
            var inlineValue: String?
            if let equals = word.firstIndex(of: "=") {
                flag = String(word[..<equals])
                inlineValue = String(word[word.index(after: equals)...])
            }
            if switchFlags.contains(flag), inlineValue == nil {
                self.switches.insert(flag)
            } else if valueFlags.contains(flag) {
                if let inlineValue {
                    self.values[flag] = inlineValue
                } else {
                    guard index < arguments.count else { throw .missingValue(flag: flag) }
                    self.values[flag] = arguments[index]
                    index += 1
                }
            } else {
                throw .unknownFlag(flag)
            }
        }
    }

    /// The value of `flag`, or `fallback`.
    public func string(_ flag: String, default fallback: String? = nil) -> String? {
        self.values[flag] ?? fallback
    }

    /// The value of a required `flag`.
    public func required(_ flag: String) throws(ParseError) -> String {
        guard let value = self.values[flag] else { throw .missingRequired(flag: flag) }
        return value
    }

    /// The integer value of `flag`, or `fallback`.
    public func integer(_ flag: String, default fallback: Int) throws(ParseError) -> Int {
        guard let text = self.values[flag] else { return fallback }
        guard let value = Int(text) else { throw .invalidValue(flag: flag, value: text, expected: "an integer") }
        return value
    }

    /// The value of `flag` in seconds (fractions allowed) as a duration, or `fallback`.
    public func seconds(_ flag: String, default fallback: Duration) throws(ParseError) -> Duration {
        guard let text = self.values[flag] else { return fallback }
        guard let value = Double(text), value >= 0, value < 1e9 else {
            throw .invalidValue(flag: flag, value: text, expected: "a number of seconds")
        }
        return .nanoseconds(Int64(value * 1e9))
    }

    /// The value of `flag` when it names a readable regular file; a missing or unreadable file is a usage error,
    /// found before anything starts rather than when the file is first needed.
    public func readableFile(_ flag: String) throws(ParseError) -> String? {
        guard let path = self.values[flag] else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              FileManager.default.isReadableFile(atPath: path)
        else { throw .invalidValue(flag: flag, value: path, expected: "a readable file") }
        return path
    }

    /// Every flag given (value flags and switches), so a command can refuse one that belongs to another.
    public var givenFlags: Set<String> {
        self.switches.union(self.values.keys)
    }

    /// Whether the switch `flag` was given.
    public func isSet(_ flag: String) -> Bool {
        self.switches.contains(flag)
    }
}
