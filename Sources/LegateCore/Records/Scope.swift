/// Where a token or an admin key applies: the whole account, one org, or one project of an org.
/// Text form: `account`, `org/<orgID>`, `project/<orgID>/<projectID>`; ids are `[a-z0-9-]{1,64}`.
public enum Scope: Sendable, Hashable, CustomStringConvertible {
    /// The whole account: covers every org and project in it.
    case account
    /// One org: covers itself and its projects.
    case org(String)
    /// One project of an org: covers only itself.
    case project(org: String, project: String)

    /// Longest org or project id, in bytes.
    public static let maxIDBytes = 64

    /// Why a scope text was refused; names the bad part and the expected shape.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// The first segment is not `account`, `org` or `project`.
        case unknownKind(String)
        /// The kind was given with the wrong number of `/`-separated parts.
        case wrongPartCount(kind: String, found: Int, expected: Int)
        /// An org or project id is empty, too long or has a character outside `[a-z0-9-]`.
        case invalidID(part: String, value: String)

        /// A sentence naming the bad part and the fix.
        public var description: String {
            let shapes = "use account, org/<orgID> or project/<orgID>/<projectID>"
            switch self {
            case .unknownKind(let kind):
                return "scope kind \"\(kind)\" is not known; \(shapes)"
            case .wrongPartCount(let kind, let found, let expected):
                return "scope \(kind) has \(found) parts, expected \(expected); \(shapes)"
            case .invalidID(let part, let value):
                return "scope \(part) id \"\(value.prefix(80))\" is not valid; ids are 1...\(Scope.maxIDBytes) "
                    + "characters of a-z, 0-9 and -"
            }
        }
    }

    /// Parses the text form; the empty string means `account` (the default scope).
    public init(parsing text: String) throws(ParseError) {
        if text.isEmpty {
            self = .account
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let kind = parts[0]
        switch kind {
        case "account":
            guard parts.count == 1 else { throw .wrongPartCount(kind: kind, found: parts.count, expected: 1) }
            self = .account
        case "org":
            guard parts.count == 2 else { throw .wrongPartCount(kind: kind, found: parts.count, expected: 2) }
            self = .org(try Self.checkedID(parts[1], part: "org"))
        case "project":
            guard parts.count == 3 else { throw .wrongPartCount(kind: kind, found: parts.count, expected: 3) }
            self = .project(
                org: try Self.checkedID(parts[1], part: "org"), project: try Self.checkedID(parts[2], part: "project"))
        default:
            throw .unknownKind(String(kind.prefix(80)))
        }
    }

    /// The text form, which `init(parsing:)` reads back to the same value.
    public var description: String {
        switch self {
        case .account: return "account"
        case .org(let org): return "org/\(org)"
        case .project(let org, let project): return "project/\(org)/\(project)"
        }
    }

    /// Whether a key at this scope may act on something at `other`: account covers all, an org covers itself
    /// and its projects, a project only itself.
    public func covers(_ other: Scope) -> Bool {
        switch (self, other) {
        case (.account, _): return true
        case (.org(let mine), .org(let theirs)): return mine == theirs
        case (.org(let mine), .project(let theirs, _)): return mine == theirs
        case (.project(let org, let project), .project(let otherOrg, let otherProject)):
            return org == otherOrg && project == otherProject
        default: return false
        }
    }

    private static func checkedID(_ value: String, part: String) throws(ParseError) -> String {
        let bytes = value.utf8
        guard (1...Self.maxIDBytes).contains(bytes.count),
            bytes.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D })
        else {
            throw .invalidID(part: part, value: value)
        }
        return value
    }
}
