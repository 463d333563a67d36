// Auto-approval: pure matching of a registration against a profile's rules, and profile validation.

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); addresses are compared as 16 bytes.
public struct CIDRNetwork: Sendable, Equatable {
    /// The network address (IPv4 as 4 bytes, IPv6 as 16).
    public let address: [UInt8]
    /// Prefix length in bits.
    public let prefixLength: Int

    /// Parses `address/prefix`; a bare address means a single host (/32 or /128). Nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(parts[1]),
                value <= bits
            else { return nil }
            prefix = value
        }
        self.address = address
        self.prefixLength = prefix
    }

    /// Whether `address` (4 or 16 bytes; an IPv4-mapped IPv6 address counts as IPv4) lies in this network.
    public func contains(_ address: [UInt8]) -> Bool {
        var candidate = address
        if candidate.count == 16, self.address.count == 4, candidate[0..<10].allSatisfy({ $0 == 0 }),
            candidate[10] == 0xFF, candidate[11] == 0xFF
        {
            candidate = Array(candidate[12..<16])
        }
        guard candidate.count == self.address.count else { return false }
        var remaining = self.prefixLength
        for index in 0..<candidate.count where remaining > 0 {
            let bits = min(remaining, 8)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if candidate[index] & mask != self.address[index] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

/// IP address text to bytes, without the C library (LegateCore does no I/O).
public enum IPAddress {
    /// 4 bytes for dotted IPv4, 16 for IPv6 (with `::` and a trailing dotted IPv4); nil when malformed.
    public static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return Self.parseV6(text) }
        return Self.parseV4(Substring(text))
    }

    private static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt8(part), part.count == 1 || part.first != "0"
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    private static func parseV6(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 45 else { return nil }
        var halves = [text]
        if let gap = text.firstRange(of: "::") {
            halves = [String(text[..<gap.lowerBound]), String(text[gap.upperBound...])]
            guard !halves[1].contains("::") else { return nil }
        }
        func groups(_ part: String, allowV4Tail: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowV4Tail, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = Self.parseV4(piece) else { return nil }
                    bytes += v4
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return bytes
        }
        guard let head = groups(halves[0], allowV4Tail: halves.count == 1) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1], allowV4Tail: true), head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

/// Glob matching over hostnames: `*` matches any run (also empty), `?` one character; case-insensitive.
public enum HostnameGlob {
    /// Whether `hostname` matches `pattern`.
    public static func matches(_ pattern: String, _ hostname: String) -> Bool {
        let p = Array(pattern.lowercased().unicodeScalars)
        let h = Array(hostname.lowercased().unicodeScalars)
        var (pi, hi) = (0, 0)
        var star: (p: Int, h: Int)?
        // Linear backtracking over the last `*` only: O(p * h) worst case, no recursion.
        while hi < h.count {
            if pi < p.count, p[pi] == "?" || p[pi] == h[hi] {
                pi += 1
                hi += 1
            } else if pi < p.count, p[pi] == "*" {
                star = (pi, hi)
                pi += 1
            } else if let last = star {
                pi = last.p + 1
                hi = last.h + 1
                star = (last.p, last.h + 1)
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// What a registration looks like to the auto-approval rules.
public struct RegistrationFacts: Sendable, Equatable {
    /// The peer address the manager sees (not the self-reported one).
    public var peerAddress: String
    /// The hostname the delegate reported.
    public var hostname: String
    /// The token id of its JWT.
    public var tokenID: String

    /// Creates the facts of one registration.
    public init(peerAddress: String, hostname: String, tokenID: String) {
        self.peerAddress = peerAddress
        self.hostname = hostname
        self.tokenID = tokenID
    }
}

extension ApprovalRule {
    /// Whether every condition of the rule holds for `facts`; a rule without any condition matches nothing.
    public func matches(_ facts: RegistrationFacts) -> Bool {
        guard !self.sourceCIDRs.isEmpty || !self.hostnamePattern.isEmpty || !self.tokenID.isEmpty else {
            return false
        }
        if !self.tokenID.isEmpty, self.tokenID != facts.tokenID { return false }
        if !self.hostnamePattern.isEmpty, !HostnameGlob.matches(self.hostnamePattern, facts.hostname) { return false }
        if !self.sourceCIDRs.isEmpty {
            guard let address = IPAddress.parse(facts.peerAddress) else { return false }
            guard self.sourceCIDRs.contains(where: { CIDRNetwork($0)?.contains(address) == true }) else {
                return false
            }
        }
        return true
    }
}

/// How a registration with a profile starts out.
public enum ApprovalOutcome: Sendable, Equatable {
    /// Active at once: the profile needs no approval.
    case notRequired
    /// Active at once: rule number `rule` (0-based) admitted it.
    case autoApproved(rule: Int)
    /// Pending until an admin decides.
    case pending
}

extension ProfileRecord {
    /// Most characters a profile name may have.
    public static let maxNameLength = 64
    /// Most bytes a startup script may have (64 KiB).
    public static let maxScriptBytes = 64 * 1024
    /// Most auto-approval rules per profile.
    public static let maxRules = 32
    /// Most networks per rule.
    public static let maxCIDRsPerRule = 64

    /// How a new registration with this profile starts out.
    public func admission(of facts: RegistrationFacts) -> ApprovalOutcome {
        guard self.requiresApproval else { return .notRequired }
        if let index = self.autoApproval.firstIndex(where: { $0.matches(facts) }) { return .autoApproved(rule: index) }
        return .pending
    }

    /// A sentence naming what is wrong with the profile and how to fix it, or nil when it is acceptable.
    public var problem: String? {
        if let problem = Self.nameProblem(self.name) { return problem }
        if self.startupScript.utf8.count > Self.maxScriptBytes {
            return "startup script of \(self.startupScript.utf8.count) bytes exceeds \(Self.maxScriptBytes) bytes "
                + "(64 KiB); shorten it or have it download the rest"
        }
        if self.autoApproval.count > Self.maxRules {
            return "\(self.autoApproval.count) auto-approval rules exceed the limit of \(Self.maxRules); merge some"
        }
        for (index, rule) in self.autoApproval.enumerated() {
            let number = index + 1
            if rule.sourceCIDRs.isEmpty, rule.hostnamePattern.isEmpty, rule.tokenID.isEmpty {
                return "auto-approval rule \(number) has no condition; give a CIDR, a hostname pattern or a token id "
                    + "(to admit everyone, set requires_approval to false)"
            }
            if rule.sourceCIDRs.count > Self.maxCIDRsPerRule {
                return "auto-approval rule \(number) has \(rule.sourceCIDRs.count) networks; at most "
                    + "\(Self.maxCIDRsPerRule) are allowed"
            }
            if let bad = rule.sourceCIDRs.first(where: { CIDRNetwork($0) == nil }) {
                return "auto-approval rule \(number): '\(bad.prefix(64))' is not a CIDR such as 10.0.0.0/8 or "
                    + "2001:db8::/32"
            }
            if rule.hostnamePattern.utf8.count > 253 || rule.tokenID.utf8.count > 128 {
                return "auto-approval rule \(number): hostname pattern (max 253 bytes) or token id (max 128) too long"
            }
        }
        return nil
    }

    /// A sentence naming what is wrong with a profile name, or nil.
    public static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "profile name must not be empty" }
        if name.count > Self.maxNameLength {
            return "profile name of \(name.count) characters exceeds \(Self.maxNameLength); choose a shorter one"
        }
        let allowed = name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
                || "-_.".unicodeScalars.contains($0)
        }
        if !allowed { return "profile name '\(name)' may only contain letters, digits, '-', '_' and '.'" }
        return nil
    }
}
