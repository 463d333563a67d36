import LegateCore
import Testing

/// Auto-approval rules: CIDR v4/v6, hostname globs, token ids, and profile validation.
@Suite struct AutoApprovalTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.1.2.3", true), ("10.0.0.0/8", "11.0.0.1", false), ("10.0.0.0/8", "9.255.255.255", false),
        ("192.168.1.0/24", "192.168.1.255", true), ("192.168.1.0/24", "192.168.2.0", false),
        ("192.168.1.128/25", "192.168.1.127", false), ("192.168.1.128/25", "192.168.1.128", true),
        ("10.1.2.3", "10.1.2.3", true), ("10.1.2.3/32", "10.1.2.4", false), ("0.0.0.0/0", "203.0.113.9", true),
        ("10.0.0.0/9", "10.127.255.255", true), ("10.0.0.0/9", "10.128.0.0", false),
        ("127.0.0.0/8", "::ffff:127.0.0.1", true), ("127.0.0.0/8", "::1", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/32", "2001:db9::1", false),
        ("::1/128", "::1", true), ("::/0", "fe80::1", true), ("fd00::/8", "fdab:cd::2", true),
        ("fd00::/8", "fe00::1", false), ("2001:db8::/33", "2001:db8:8000::", false),
        ("::ffff:0:0/96", "::ffff:10.0.0.1", true), ("10.0.0.0/8", "fd00::1", false),
        ("2001:db8:0:0:0:0:0:0/64", "2001:db8::abcd", true),
    ])
    func cidrMatching(network: String, address: String, expected: Bool) throws {
        let cidr = try #require(CIDRNetwork(network), "\(network) must parse")
        let bytes = try #require(IPAddress.parse(address), "\(address) must parse")
        #expect(cidr.contains(bytes) == expected, "\(address) in \(network)")
    }

    @Test(arguments: [
        "", "10.0.0.0/33", "10.0.0/8", "10.0.0.256/8", "10.0.0.1/", "10.0.0.1/-1", "10.0.0.01/8", "a.b.c.d/8",
        "::/129", "1:2:3:4:5:6:7:8:9/64", "1::2::3/64", "12345::/16", "fe80::%eth0/64", "10.0.0.0/8/8",
        "10.0.0.0 /8", "/8", ":::/8", "1:2:3:4:5:6:7/64",
    ])
    func malformedNetworksAreRefused(text: String) {
        #expect(CIDRNetwork(text) == nil, "\(text) must not parse")
    }

    @Test(arguments: [
        ("ci-*", "ci-runner-1", true), ("ci-*", "CI-Runner", true), ("ci-*", "build-ci-1", false),
        ("*.prod.example.com", "db1.prod.example.com", true), ("*.prod.example.com", "prod.example.com", false),
        ("host-??", "host-01", true), ("host-??", "host-1", false), ("host-??", "host-001", false),
        ("*", "", true), ("*", "anything", true), ("", "", true), ("", "x", false), ("a*b*c", "abc", true),
        ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false), ("*a", "bbba", true), ("*a", "bbbab", false),
        ("**", "x", true), ("?*", "", false), ("exact", "exact", true), ("exact", "exactly", false),
    ])
    func hostnameGlobs(pattern: String, hostname: String, expected: Bool) {
        #expect(HostnameGlob.matches(pattern, hostname) == expected, "\(pattern) vs \(hostname)")
    }

    @Test func globOnLongInputStaysLinearEnough() {
        let pattern = String(repeating: "*a", count: 100) + "b"
        let hostname = String(repeating: "a", count: 253)
        #expect(!HostnameGlob.matches(pattern, hostname))
    }

    @Test func ruleNeedsEveryConditionAndAnyNetwork() {
        let rule = ApprovalRule(
            sourceCIDRs: ["10.0.0.0/8", "192.168.0.0/16"], hostnamePattern: "ci-*", tokenID: "tok_a")
        let facts = RegistrationFacts(peerAddress: "192.168.3.4", hostname: "ci-7", tokenID: "tok_a")
        #expect(rule.matches(facts))
        var other = facts
        other.peerAddress = "172.16.0.1"
        #expect(!rule.matches(other), "peer outside every network")
        other = facts
        other.hostname = "dev-1"
        #expect(!rule.matches(other), "hostname does not match")
        other = facts
        other.tokenID = "tok_b"
        #expect(!rule.matches(other), "another token")
        other = facts
        other.peerAddress = "not-an-ip"
        #expect(!rule.matches(other), "unparsable peer address never matches a network")
        #expect(!ApprovalRule().matches(facts), "a rule without conditions admits nobody")
        #expect(ApprovalRule(tokenID: "tok_a").matches(other), "only the token is checked")
    }

    @Test func admissionOfAProfile() {
        let facts = RegistrationFacts(peerAddress: "127.0.0.1", hostname: "h", tokenID: "t")
        var profile = ProfileRecord(id: "p", accountID: "a", name: "n", createdAt: 0, updatedAt: 0)
        #expect(profile.admission(of: facts) == .notRequired)
        profile.requiresApproval = true
        #expect(profile.admission(of: facts) == .pending)
        profile.autoApproval = [ApprovalRule(sourceCIDRs: ["10.0.0.0/8"]), ApprovalRule(sourceCIDRs: ["127.0.0.0/8"])]
        #expect(profile.admission(of: facts) == .autoApproved(rule: 1))
    }

    @Test func validationSaysWhatIsWrong() {
        func problem(_ change: (inout ProfileRecord) -> Void) -> String? {
            var profile = ProfileRecord(id: "p", accountID: "a", name: "linux", createdAt: 0, updatedAt: 0)
            change(&profile)
            return profile.problem
        }
        #expect(problem { _ in } == nil)
        #expect(problem { $0.name = "" }?.contains("empty") == true)
        #expect(problem { $0.name = String(repeating: "x", count: 64) } == nil)
        #expect(problem { $0.name = String(repeating: "x", count: 65) }?.contains("64") == true)
        #expect(problem { $0.name = "a b" }?.contains("may only contain") == true)
        #expect(problem { $0.startupScript = String(repeating: "x", count: 64 * 1024) } == nil)
        #expect(problem { $0.startupScript = String(repeating: "x", count: 64 * 1024 + 1) }?.contains("64 KiB") == true)
        #expect(problem { $0.autoApproval = [ApprovalRule()] }?.contains("no condition") == true)
        #expect(problem { $0.autoApproval = [ApprovalRule(sourceCIDRs: ["10.0.0.0/33"])] }?.contains("CIDR") == true)
        #expect(
            problem { $0.autoApproval = Array(repeating: ApprovalRule(tokenID: "t"), count: 33) }?.contains("32")
                == true)
    }

    @Test func everyHeartbeatIsJitteredWithinTenPercent() {
        struct Fixed: JitterSource {
            var values: [Double]
            mutating func nextUnit() -> Double { self.values.removeFirst() }
        }
        let schedule = HeartbeatSchedule(interval: .seconds(10))
        var jitter = Fixed(values: [0, 0.5, 0.999_999, 0.25, -3, .nan])
        #expect(schedule.firstDelay(using: &jitter) == .zero)
        #expect(schedule.nextDelay(using: &jitter) == .seconds(10))
        let late = schedule.nextDelay(using: &jitter)
        #expect(late > .milliseconds(10_999) && late <= .seconds(11))
        #expect(schedule.nextDelay(using: &jitter) == .milliseconds(9_500))
        #expect(schedule.nextDelay(using: &jitter) == .seconds(9), "out-of-range values are clamped")
        #expect(schedule.nextDelay(using: &jitter) == .seconds(10), "NaN counts as the middle")
        #expect(HeartbeatSchedule(interval: .seconds(1), spread: 7).spread == 0.5)
        var system = SystemJitter()
        for _ in 0..<1000 {
            let delay = schedule.nextDelay(using: &system)
            #expect(delay >= .seconds(9) && delay <= .seconds(11))
        }
    }
}
