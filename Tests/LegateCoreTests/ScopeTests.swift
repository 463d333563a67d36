import LegateCore
import Testing

/// The pure `Scope` value: parse, text round trip, coverage.
struct ScopeTests {
    @Test(arguments: ["account", "org/acme", "project/acme/web-1", "org/\(String(repeating: "a", count: 64))"])
    func descriptionRoundTrips(text: String) throws {
        let scope = try Scope(parsing: text)
        #expect(scope.description == text)
        #expect(try Scope(parsing: scope.description) == scope)
    }

    @Test func emptyMeansAccount() throws {
        #expect(try Scope(parsing: "") == .account)
    }

    @Test(arguments: [
        ("team/x", Scope.ParseError.unknownKind("team")),
        ("account/x", .wrongPartCount(kind: "account", found: 2, expected: 1)),
        ("org", .wrongPartCount(kind: "org", found: 1, expected: 2)),
        ("org/a/b", .wrongPartCount(kind: "org", found: 3, expected: 2)),
        ("project/acme", .wrongPartCount(kind: "project", found: 2, expected: 3)),
        ("org/", .invalidID(part: "org", value: "")),
        ("org/Acme", .invalidID(part: "org", value: "Acme")),
        ("org/a_b", .invalidID(part: "org", value: "a_b")),
        ("org/\(String(repeating: "a", count: 65))", .invalidID(part: "org", value: String(repeating: "a", count: 65))),
        ("project/acme/web 1", .invalidID(part: "project", value: "web 1")),
        ("project//web", .invalidID(part: "org", value: "")),
        ("org/caf\u{e9}", .invalidID(part: "org", value: "caf\u{e9}")),
    ])
    func badTextIsRefusedNamingThePart(text: String, expected: Scope.ParseError) {
        #expect(throws: expected) { try Scope(parsing: text) }
    }

    @Test func errorMessagesNameTheBadPart() {
        #expect(Scope.ParseError.invalidID(part: "project", value: "X").description.contains("project id \"X\""))
        #expect(Scope.ParseError.unknownKind("team").description.contains("org/<orgID>"))
    }

    @Test func coverage() {
        let acme = Scope.org("acme")
        let web = Scope.project(org: "acme", project: "web")
        let api = Scope.project(org: "acme", project: "api")
        let other = Scope.project(org: "globex", project: "web")
        #expect(Scope.account.covers(.account) && Scope.account.covers(acme) && Scope.account.covers(other))
        #expect(acme.covers(acme) && acme.covers(web) && acme.covers(api))
        #expect(!acme.covers(.account) && !acme.covers(.org("globex")) && !acme.covers(other))
        #expect(web.covers(web) && !web.covers(api) && !web.covers(acme) && !web.covers(.account))
        #expect(!web.covers(other))
    }
}
